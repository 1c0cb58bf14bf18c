"""Classification: the classes of labelled ROIs learnt and mapped over the cube, with an honest
accuracy: measured on whole ROIs held out from training (or the far half of a lone one)."""

import hashlib

import numpy as np
import streamlit as st

from cubescope import Cube, CubeError, state
from cubescope import roi as roi_module
from cubescope.classify import METHODS, ConfidenceImage, classify_regions, report_csv, report_rows
from cubescope.plots import Trace, confusion_figure
from cubescope.words import plural
from cubescope_ui import data, session, widgets
from cubescope_ui.frame import page
from cubescope_ui.images import Export, class_colours, show_classes, show_image
from cubescope_ui.layout import two_columns
from cubescope_ui.spectra_chart import spectra_chart
from cubescope_ui.text import plain
from cubescope_ui.viewer import labels_tile

NAMES = {"gaussian": "Maximum likelihood", "random_forest": "Random forest", "svm": "SVM", "sam": "SAM"}
VIEWS = ("Class map", "Confidence")
SETTINGS = {
    "cl_method": state.Setting("classifier", state.choice(METHODS), lambda c: METHODS[0]),
    "cl_seed": state.Setting("seed", state.integer(0, 9999), lambda c: 0),
    "cl_view": state.Setting("classification view", state.choice(VIEWS), lambda c: VIEWS[0]),
    **state.stretch_settings("cl_"),
}


def body(cube_id: str, cube: Cube, context: state.LinkContext) -> None:
    labelled = [area for area in session.rois() if area.label.strip()]
    if len({area.label.strip() for area in labelled}) < 2:
        st.info("Draw ROIs with the viewer's Polygon tool (here or on any page) and give them classes in the Bands "
                "page's ROI panel: at least two classes. With two or more ROIs of a class, whole ROIs are held out "
                "to measure the accuracy; a lone ROI is cut in two.")
        return
    method = widgets.kept(st.segmented_control, "cl_method", context, "Classifier", options=list(METHODS),
                          default=METHODS[0], format_func=NAMES.get)
    middle, right = st.columns([1, 2], vertical_alignment="bottom")
    seed = widgets.kept(middle.number_input, "cl_seed", context, "Seed", min_value=0, max_value=9999, value=0,
                        help="Which ROIs are held out, and the forest's and SVM's randomness.")
    encoded = roi_module.encode_rois(labelled)
    digest = hashlib.sha1(encoded.encode()).hexdigest()[:12]
    try:
        result = data.computed(cube_id, "Training and classifying every pixel…", classify_regions, encoded, method,
                               seed)
    except CubeError as exc:
        st.warning(plain(exc))
        return
    a = result.accuracy
    right.metric("Overall accuracy (held-out pixels)", f"{100 * a.overall:.1f}%",
                 help="Pixels of ROIs held out from training, assigned their class.")
    right.caption(plain(f"Cohen's kappa {a.kappa:.3f}: the agreement beyond chance with these class totals."))
    image_col, side_col = two_columns("classify")
    with image_col:
        views = list(VIEWS) if result.confidence is not None else VIEWS[:1]
        view = widgets.kept(st.segmented_control, "cl_view", context, "Show", options=views, default=VIEWS[0])
        if view == "Confidence":
            show_image("image_cl", cube_id, cube, context, ConfidenceImage(encoded, method, seed), prefix="cl_",
                       label="probability of the class assigned",
                       export=Export((cube.name, NAMES[method], "confidence"), "export_cl_confidence"))
        else:
            labels = result.classes - 1  # 1..k, 0 without data -> 0..k-1, -1
            show_classes("image_cl", cube, labels_tile("image_cl", cube_id, cube, f"cl-{digest}-{method}-{seed}",
                                                       labels, len(result.names)),
                         result.names, label=f"{NAMES[method]} class", name=f"cl-{digest}-{method}-{seed}",
                         labels=lambda: labels, export=Export((cube.name, NAMES[method], "classes"), "cl_export_map"))
        st.caption(plain(f"Trained on {plural(int((result.train > 0).sum()), 'pixel')} of the ROIs, assessed on "
                         f"{plural(int(a.support.sum()), 'held-out pixel')}."))
    with side_col:
        report(cube, result)


def report(cube: Cube, result) -> None:
    """The accuracy per class, the confusion matrix, and the classes' mean spectra."""
    st.dataframe(report_rows(result), hide_index=True, width="stretch",
                 column_config={k: st.column_config.NumberColumn(format="%.3f") for k in ("precision", "recall", "F1")})
    st.plotly_chart(confusion_figure(result.accuracy.confusion, result.names), key="cl_confusion")
    st.download_button("Accuracy report (.csv)", lambda: report_csv(result), file_name="accuracy.csv",
                       mime="text/csv", key="cl_report", on_click="ignore")
    colours = class_colours(len(result.names))
    spectra_chart("cl_means", [Trace(n, m, colour=c) for n, m, c in zip(result.names, result.means, colours,
                                                                         strict=True) if np.isfinite(m).any()],
                  cube.wavelengths, cube.wavelength_units, cube.bad_bands,
                  y_title=f"class mean {cube.quantity or 'value'}", name_parts=(cube.name, "class means"))


page("The Classification page", lambda cube: f"Classification · {cube.name}", body)
