"""Small files laid out as the sensor products are, for the reader tests.

Each writer follows the product's real group, dataset and attribute names, dtypes, axis order,
fill values and scale attributes (the source is cited in each), and returns what the file
holds in physical terms so that tests compare against it and never against the reader.
"""

from __future__ import annotations

from pathlib import Path

import h5netcdf
import h5py
import numpy as np
import tifffile
from pyproj import CRS, Transformer

RNG = np.random.default_rng(7)
UTM33 = "EPSG:32633"


def lonlat_of(crs: str, x, y):
    """pyproj's lon/lat of CRS coordinates (the reference for every georeferencing test)."""
    return Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)


# ---------------------------------------------------------------------- EMIT
def write_emit(path: Path, variable: str = "reflectance") -> dict:
    """EMIT L2A/L1B netCDF4 (EMIT Data Product User Guide; HyperCoast ``emit.py``): root
    ``reflectance`` (downtrack, crosstrack, bands) float32, _FillValue -9999; groups
    ``sensor_band_parameters`` (wavelengths, fwhm, good_wavelengths) and ``location`` (lat,
    lon, glt_x, glt_y, 1-based, 0 = none); root attributes ``geotransform`` and ``spatial_ref``."""
    down, cross, bands = 9, 7, 6
    data = RNG.uniform(0.0, 0.6, (down, cross, bands)).astype(np.float32)
    data[2, 3, :] = -9999.0
    wavelengths = np.linspace(381.0, 2493.0, bands).astype(np.float32)
    good = np.ones(bands, dtype=np.float32)
    good[3] = 0
    oy, ox = 11, 10
    glt_x = np.zeros((oy, ox), dtype=np.int32)
    glt_y = np.zeros((oy, ox), dtype=np.int32)
    # A rotated swath: ortho pixel (i, j) shows swath pixel (i - 1, j - 2) where it exists.
    for i in range(oy):
        for j in range(ox):
            r, c = i - 1, j - 2
            if 0 <= r < down and 0 <= c < cross:
                glt_y[i, j], glt_x[i, j] = r + 1, c + 1
    gt = np.array([-118.30, 0.000542232520256, 0.0, 34.20, 0.0, -0.000542232520256])
    lat = np.linspace(34.19, 34.185, down)[:, None] + np.zeros((1, cross))
    lon = np.linspace(-118.299, -118.295, cross)[None, :] + np.zeros((down, 1))
    with h5netcdf.File(path, "w") as f:
        f.dimensions = {"downtrack": down, "crosstrack": cross, "bands": bands}
        v = f.create_variable(variable, ("downtrack", "crosstrack", "bands"), "f4", fillvalue=-9999.0)
        v[...] = data
        v.attrs["units"] = "unitless" if variable == "reflectance" else "uW/cm^2/SR/nm"
        band = f.create_group("sensor_band_parameters")
        band.create_variable("wavelengths", ("bands",), "f4", data=wavelengths)
        band.create_variable("fwhm", ("bands",), "f4", data=np.full(bands, 8.5, np.float32))
        band.create_variable("good_wavelengths", ("bands",), "f4", data=good)
        loc = f.create_group("location")
        loc.dimensions = {"ortho_y": oy, "ortho_x": ox}
        loc.create_variable("glt_x", ("ortho_y", "ortho_x"), "i4", data=glt_x)
        loc.create_variable("glt_y", ("ortho_y", "ortho_x"), "i4", data=glt_y)
        loc.create_variable("lat", ("downtrack", "crosstrack"), "f8", data=lat)
        loc.create_variable("lon", ("downtrack", "crosstrack"), "f8", data=lon)
        f.attrs["geotransform"] = gt
        f.attrs["spatial_ref"] = CRS("EPSG:4326").to_wkt("WKT1_GDAL")
        f.attrs["time_coverage_start"] = "2023-01-23T00:45:29+0000"
    return {"data": data, "wavelengths": wavelengths, "good": good, "glt_x": glt_x, "glt_y": glt_y, "gt": gt,
            "lon": lon, "lat": lat}


# ---------------------------------------------------------------------- PACE
def write_pace(path: Path) -> dict:
    """PACE OCI L2 AOP (OB.DAAC Level-2 format; HyperCoast ``pace.py``): ``geophysical_data/Rrs``
    (number_of_lines, pixels_per_line, wavelength_3d) int16, scale_factor 2e-6, add_offset
    0.05, _FillValue -32767, units sr^-1; ``sensor_band_parameters/wavelength_3d``;
    ``navigation_data/latitude``, ``longitude`` with _FillValue -999."""
    lines, pixels, bands = 8, 6, 5
    wavelengths = np.array([346.0, 351.0, 356.0, 361.0, 719.0], dtype=np.float32)
    stored = RNG.integers(-25000, 20000, (lines, pixels, bands)).astype(np.int16)
    stored[0, 0, :] = -32767
    lat = np.linspace(35.0, 34.6, lines)[:, None] + np.linspace(0, 0.05, pixels)[None, :]
    lon = np.linspace(-75.0, -74.5, pixels)[None, :] + np.linspace(0, 0.02, lines)[:, None]
    lat[7, 5] = -999.0
    with h5netcdf.File(path, "w") as f:
        f.dimensions = {"number_of_lines": lines, "pixels_per_line": pixels, "wavelength_3d": bands}
        geo = f.create_group("geophysical_data")
        rrs = geo.create_variable("Rrs", ("number_of_lines", "pixels_per_line", "wavelength_3d"), "i2",
                                  fillvalue=np.int16(-32767))
        rrs[...] = stored
        rrs.attrs["scale_factor"] = np.float32(2e-06)
        rrs.attrs["add_offset"] = np.float32(0.05)
        rrs.attrs["units"] = "sr^-1"
        rrs.attrs["long_name"] = "Remote sensing reflectance"
        sbp = f.create_group("sensor_band_parameters")
        sbp.create_variable("wavelength_3d", ("wavelength_3d",), "f4", data=wavelengths)
        nav = f.create_group("navigation_data")
        for key, values in (("latitude", lat), ("longitude", lon)):
            v = nav.create_variable(key, ("number_of_lines", "pixels_per_line"), "f4", fillvalue=np.float32(-999.0))
            v[...] = values.astype(np.float32)
        f.attrs["product_name"] = path.name
    physical = np.where(stored == -32767, np.nan, stored * np.float32(2e-06) + np.float32(0.05))
    return {"physical": physical, "wavelengths": wavelengths, "lat": lat.astype(np.float32),
            "lon": lon.astype(np.float32)}


# ---------------------------------------------------------------------- PRISMA
def write_prisma(path: Path, level: str = "L2D") -> dict:
    """PRISMA L2D HDF5-EOS (ASI PRISMA Product Specification; HyperCoast ``prisma.py``; the
    EnMAP-Box PRISMA importer): ``HDFEOS/SWATHS/PRS_L2D_HCO/Data Fields/VNIR_Cube`` and
    ``SWIR_Cube`` uint16 (rows, bands, cols), bands stored from long to short wavelengths,
    unused bands listed with wavelength 0; root attributes ``List_Cw_Vnir``, ``List_Fwhm_Vnir``,
    ``List_Cw_Vnir_Flags``, ``L2ScaleVnirMin``/``Max`` (SWIR alike), ``Epsg_Code`` and the
    corner coordinates ``Product_ULcorner_easting`` … (pixel centres);
    ``Geolocation Fields/Latitude``, ``Longitude``."""
    rows, cols = 7, 5
    vnir_cw = np.array([980.0, 850.0, 0.0, 560.0, 410.0])  # descending, one unused band
    swir_cw = np.array([2490.0, 1600.0, 1005.0, 960.0])    # overlaps the VNIR at 960-980 nm
    vnir = RNG.integers(0, 65535, (rows, vnir_cw.size, cols)).astype(np.uint16)
    swir = RNG.integers(0, 65535, (rows, swir_cw.size, cols)).astype(np.uint16)
    scales = {"Vnir": (-0.01, 0.9), "Swir": (0.0, 0.7)}
    ul = (360015.0, 4200015.0)
    lr = (ul[0] + 30.0 * (cols - 1), ul[1] - 30.0 * (rows - 1))
    rr, cc = np.mgrid[0:rows, 0:cols]
    lon, lat = lonlat_of(UTM33, ul[0] + 30.0 * cc, ul[1] - 30.0 * rr)  # centres, as the product lists them
    swath = f"HDFEOS/SWATHS/PRS_{level}_HCO"
    with h5py.File(path, "w") as f:
        f.create_dataset(f"{swath}/Data Fields/VNIR_Cube", data=vnir)
        f.create_dataset(f"{swath}/Data Fields/SWIR_Cube", data=swir)
        f.create_dataset(f"{swath}/Geolocation Fields/Latitude", data=lat.astype(np.float32))
        f.create_dataset(f"{swath}/Geolocation Fields/Longitude", data=lon.astype(np.float32))
        f.attrs["List_Cw_Vnir"] = vnir_cw.astype(np.float32)
        f.attrs["List_Fwhm_Vnir"] = np.where(vnir_cw > 0, 12.0, 0.0).astype(np.float32)
        f.attrs["List_Cw_Vnir_Flags"] = np.array([1, 1, 0, 1, 1], dtype=np.int8)
        f.attrs["List_Cw_Swir"] = swir_cw.astype(np.float32)
        f.attrs["List_Fwhm_Swir"] = np.full(swir_cw.size, 10.0, np.float32)
        f.attrs["List_Cw_Swir_Flags"] = np.array([0, 1, 1, 1], dtype=np.int8)
        for det, (low, high) in scales.items():
            f.attrs[f"L2Scale{det}Min"] = np.float32(low)
            f.attrs[f"L2Scale{det}Max"] = np.float32(high)
        f.attrs["Epsg_Code"] = np.int32(32633)
        f.attrs["Product_ULcorner_easting"], f.attrs["Product_ULcorner_northing"] = ul
        f.attrs["Product_LRcorner_easting"], f.attrs["Product_LRcorner_northing"] = lr
        f.attrs["Processing_Level"] = level[1:]
    return {"vnir": vnir, "swir": swir, "vnir_cw": vnir_cw, "swir_cw": swir_cw, "scales": scales,
            "lon": lon, "lat": lat, "ul": ul}


# ---------------------------------------------------------------------- Tanager
def write_tanager(path: Path) -> dict:
    """Planet Tanager HDF5-EOS (Planet's Tanager product specification; HyperCoast
    ``tanager.py``): ``HDFEOS/SWATHS/HYP/Data Fields/surface_reflectance`` (bands, y, x)
    float32 with attributes ``wavelengths``, ``fwhm``, ``good_wavelengths`` and ``_FillValue``;
    ``Data Fields/nodata_pixels``; ``Geolocation Fields/Latitude``, ``Longitude``."""
    bands, y, x = 5, 6, 4
    data = RNG.uniform(0, 0.5, (bands, y, x)).astype(np.float32)
    data[:, 5, 3] = -9999.0
    wavelengths = np.array([380.0, 500.0, 1400.0, 2000.0, 2490.0], dtype=np.float32)
    good = np.array([1, 1, 0, 1, 1], dtype=np.uint8)
    nodata = np.zeros((y, x), dtype=np.uint8)
    nodata[0, 0] = 1
    lat = np.linspace(40.0, 39.9, y)[:, None] + np.zeros((1, x))
    lon = np.linspace(-105.0, -104.9, x)[None, :] + np.zeros((y, 1))
    with h5py.File(path, "w") as f:
        d = f.create_dataset("HDFEOS/SWATHS/HYP/Data Fields/surface_reflectance", data=data)
        d.attrs["wavelengths"] = wavelengths
        d.attrs["fwhm"] = np.full(bands, 5.5, np.float32)
        d.attrs["good_wavelengths"] = good
        d.attrs["_FillValue"] = np.float32(-9999.0)
        f.create_dataset("HDFEOS/SWATHS/HYP/Data Fields/nodata_pixels", data=nodata)
        f.create_dataset("HDFEOS/SWATHS/HYP/Geolocation Fields/Latitude", data=lat)
        f.create_dataset("HDFEOS/SWATHS/HYP/Geolocation Fields/Longitude", data=lon)
    return {"data": data, "wavelengths": wavelengths, "good": good, "nodata": nodata, "lat": lat, "lon": lon}


# ---------------------------------------------------------------------- NEON
def write_neon(path: Path, site: str = "SERC", windows_on: str = "group") -> dict:
    """NEON AOP reflectance HDF5 (NEON AOP Reflectance HDF5 file description; HyperCoast
    ``neon.py``): ``<SITE>/Reflectance/Reflectance_Data`` int16 (y, x, bands) with
    ``Scale_Factor`` 10000, ``Data_Ignore_Value`` -9999; ``Band_Window_1_Nanometers`` and
    ``_2_`` on the ``Reflectance`` group, where NEON writes them (``windows_on="data"`` puts
    them on the dataset, as some files do); ``Metadata/Spectral_Data/Wavelength``, ``FWHM``;
    ``Metadata/Coordinate_System/Map_Info`` and ``EPSG Code``."""
    y, x, bands = 5, 4, 6
    stored = RNG.integers(0, 9000, (y, x, bands)).astype(np.int16)
    stored[4, 3, :] = -9999
    wavelengths = np.array([381.0, 700.0, 1350.0, 1400.0, 1800.0, 2510.0])
    base = f"{site}/Reflectance"
    with h5py.File(path, "w") as f:
        d = f.create_dataset(f"{base}/Reflectance_Data", data=stored)
        d.attrs["Scale_Factor"] = np.float64(10000.0)
        d.attrs["Data_Ignore_Value"] = np.float64(-9999.0)
        holder = f[base] if windows_on == "group" else d
        holder.attrs["Band_Window_1_Nanometers"] = np.array([1340, 1445])
        holder.attrs["Band_Window_2_Nanometers"] = np.array([1790, 1955])
        f.create_dataset(f"{base}/Metadata/Spectral_Data/Wavelength", data=wavelengths)
        f.create_dataset(f"{base}/Metadata/Spectral_Data/FWHM", data=np.full(bands, 5.0))
        f.create_dataset(f"{base}/Metadata/Coordinate_System/Map_Info",
                         data=b"UTM,  1.000,  1.000,  364002.00,  4305000.00,  1.0000000000e+00,  "
                              b"1.0000000000e+00,  18,  North,  WGS-84,  units=Meters, 0")
        f.create_dataset(f"{base}/Metadata/Coordinate_System/EPSG Code", data=b"32618")
    return {"stored": stored, "wavelengths": wavelengths, "origin": (364002.0, 4305000.0), "crs": "EPSG:32618"}


# ---------------------------------------------------------------------- AVIRIS-3
def write_aviris3(path: Path) -> dict:
    """AVIRIS-3 L2A ``*_RFL_ORT.nc`` (JPL AVIRIS-3 product description; HyperCoast
    ``aviris.py`` and its tests): group ``reflectance`` with ``reflectance`` (wavelength,
    northing, easting) float32, _FillValue -9999, ``wavelength``, ``fwhm``; root coordinates
    ``easting``, ``northing`` (pixel centres) and the grid mapping ``transverse_mercator``
    with ``crs_wkt``."""
    bands, rows, cols = 4, 6, 5
    data = RNG.uniform(0, 0.7, (bands, rows, cols)).astype(np.float32)
    data[:, 0, 4] = -9999.0
    wavelengths = np.array([377.2, 382.2, 387.2, 2500.1])
    easting = 500002.5 + 5.0 * np.arange(cols)
    northing = 3800002.5 - 5.0 * np.arange(rows)
    crs = "EPSG:32611"
    with h5netcdf.File(path, "w") as f:
        f.dimensions = {"easting": cols, "northing": rows}
        f.create_variable("easting", ("easting",), "f8", data=easting)
        f.create_variable("northing", ("northing",), "f8", data=northing)
        tm = f.create_variable("transverse_mercator", (), "i4")
        tm.attrs["crs_wkt"] = CRS(crs).to_wkt()
        g = f.create_group("reflectance")
        g.dimensions = {"wavelength": bands}
        g.create_variable("wavelength", ("wavelength",), "f8", data=wavelengths)
        g.create_variable("fwhm", ("wavelength",), "f8", data=np.full(bands, 5.0))
        v = g.create_variable("reflectance", ("wavelength", "northing", "easting"), "f4", fillvalue=-9999.0)
        v[...] = data
        v.attrs["grid_mapping"] = "transverse_mercator"
    return {"data": data, "wavelengths": wavelengths, "easting": easting, "northing": northing, "crs": crs}


# ---------------------------------------------------------------------- EnMAP and DESIS
def _geotiff(path: Path, data: np.ndarray, epsg: int, origin: tuple[float, float], size: float,
             nodata: float | None) -> None:
    """A band-interleaved GeoTIFF with GeoKeys written by hand (GeoTIFF 1.1 spec: tie point,
    pixel scale, ProjectedCSTypeGeoKey), independent of Cubescope's own writer."""
    keys = [1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, epsg]
    tags = [(33550, "d", 3, (size, size, 0.0), True), (33922, "d", 6, (0, 0, 0, origin[0], origin[1], 0), True),
            (34735, "H", len(keys), keys, True)]
    if nodata is not None:
        tags.append((42113, "s", 0, f"{nodata:g}", True))
    tifffile.imwrite(path, data, photometric="minisblack", planarconfig="separate", extratags=tags)


def write_enmap(folder: Path, level: str = "L2A") -> dict:
    """EnMAP L2A (DLR EnMAP product specification; EnMAP-Box ``importenmapl2aalgorithm.py``):
    ``ENMAP01-____L2A-DT…-METADATA.XML`` with ``specific/bandCharacterisation/bandID``
    (wavelengthCenterOfBand, FWHMOfBand, GainOfBand, OffsetOfBand) and
    ``product/bandStatistics/bandID`` (mean -1000000, stdDeviation 0 for a band without data)
    beside ``…-SPECTRAL_IMAGE.TIF``, int16, no-data -32768, UTM."""
    stem = f"ENMAP01-____{level}-DT0000001867_20220724T104526Z_008_V010302_20230628T165614Z"
    folder.mkdir(parents=True, exist_ok=True)
    # Detector order (VNIR, then SWIR), overlapping at 900-1000 nm: not sorted by wavelength.
    wavelengths = np.array([420.0, 650.0, 905.0, 990.0, 940.0, 1000.0, 2200.0])
    gains = np.full(wavelengths.size, 2.0e-5)
    offsets = np.zeros(wavelengths.size)
    offsets[1] = 0.01
    stored = RNG.integers(0, 30000, (wavelengths.size, 6, 4)).astype(np.int16)
    stored[:, 0, 0] = -32768
    stored[6] = -32768  # a band without data
    _geotiff(folder / f"{stem}-SPECTRAL_IMAGE.TIF", stored, 32633, (380000.0, 5810000.0), 30.0, -32768)
    bands = "".join(
        f'<bandID number="{i + 1}"><wavelengthCenterOfBand>{w}</wavelengthCenterOfBand><FWHMOfBand>8.1</FWHMOfBand>'
        f"<GainOfBand>{g}</GainOfBand><OffsetOfBand>{o}</OffsetOfBand></bandID>"
        for i, (w, g, o) in enumerate(zip(wavelengths, gains, offsets, strict=True)))
    stats = "".join(
        f'<bandID number="{i + 1}"><mean>{-1000000 if i == 6 else 1234.5}</mean>'
        f"<stdDeviation>{0 if i == 6 else 100.2}</stdDeviation></bandID>" for i in range(wavelengths.size))
    (folder / f"{stem}-METADATA.XML").write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><level_X><specific><code>{level}</code><bandCharacterisation>{bands}'
        f"</bandCharacterisation></specific><product><bandStatistics>{stats}</bandStatistics></product></level_X>")
    return {"stem": stem, "stored": stored, "wavelengths": wavelengths, "gains": gains, "offsets": offsets,
            "origin": (380000.0, 5810000.0), "crs": "EPSG:32633"}


def write_desis(folder: Path) -> dict:
    """DESIS L2A (DLR DESIS product specification; EnMAP-Box ``importdesisl2aalgorithm.py``):
    ``DESIS-HSI-L2A-DT…-SPECTRAL_IMAGE.tif`` (band-interleaved int16, UTM) with
    ``…-SPECTRAL_IMAGE.hdr`` (wavelength, fwhm, data gain values, data offset values,
    data ignore value) and ``…-METADATA.xml``."""
    stem = "DESIS-HSI-L2A-DT1203190212_025-20191203T021128-V0210"
    folder.mkdir(parents=True, exist_ok=True)
    wavelengths = np.array([401.9, 404.4, 406.9, 999.1])
    stored = RNG.integers(0, 10000, (wavelengths.size, 5, 3)).astype(np.int16)
    stored[:, 4, 2] = 0
    _geotiff(folder / f"{stem}-SPECTRAL_IMAGE.tif", stored, 32755, (293000.0, 6260000.0), 30.0, None)
    (folder / f"{stem}-SPECTRAL_IMAGE.hdr").write_text(
        "ENVI\ndescription = {DESIS L2A}\nsamples = 3\nlines = 5\nbands = 4\nheader offset = 0\n"
        "file type = TIFF\ndata type = 2\ninterleave = bsq\nbyte order = 0\n"
        "wavelength units = Nanometers\nwavelength = {" + ", ".join(map(str, wavelengths)) + "}\n"
        "fwhm = {3.5, 3.5, 3.5, 3.6}\ndata gain values = {0.0001, 0.0001, 0.0001, 0.0001}\n"
        "data offset values = {0, 0, 0, 0}\ndata ignore value = 0\n")
    (folder / f"{stem}-METADATA.xml").write_text('<?xml version="1.0"?><hsi_doc><base/></hsi_doc>')
    return {"stem": stem, "stored": stored, "wavelengths": wavelengths, "origin": (293000.0, 6260000.0),
            "crs": "EPSG:32755"}
