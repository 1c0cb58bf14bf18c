"""Opening cubes without an upload (server data folder, object-store URLs) and the store shared
by several servers, against a real S3 protocol server (moto) on localhost."""

import json
import os
import socket

import numpy as np
import pytest

from cubescope import CubeError
from cubescope.sources import check_url, folder_source_id, list_folder, resolve_in_folder
from cubescope.store import CubeStore
from tests.writers import sample_cube, write_envi

# ---------------------------------------------------------------- data folder


@pytest.fixture
def data_root(tmp_path):
    root = tmp_path / "data"
    (root / "flights").mkdir(parents=True)
    write_envi(root / "flights", sample_cube(dtype="i2"), name="line_01", interleave="bil")
    np.save(root / "lab.npy", sample_cube())
    (root / ".hidden.npy").write_bytes(b"")
    (root / "notes.txt").write_text("not a cube")
    outside = tmp_path / "secret.npy"
    np.save(outside, sample_cube())
    (root / "link.npy").symlink_to(outside)
    return root


def test_folder_listing_shows_cube_files_inside_only(data_root):
    assert list_folder(data_root) == ["flights/line_01.hdr", "lab.npy"]


@pytest.mark.parametrize("name", ["../secret.npy", "flights/../../secret.npy", "link.npy"])
def test_paths_leading_outside_the_folder_are_refused(data_root, name):
    with pytest.raises(CubeError, match="outside"):
        resolve_in_folder(data_root, name)


def test_a_header_whose_data_file_links_outside_is_refused(data_root, tmp_path):
    """Issue 26 #2: the header lies inside the folder, its data file is a link to a file outside."""
    header, raw = write_envi(tmp_path, sample_cube(dtype="i2"), name="secret_scene", interleave="bil")
    (data_root / "flights" / header.name).write_bytes(header.read_bytes())
    (data_root / "flights" / raw.name).symlink_to(raw)
    with pytest.raises(CubeError, match="links outside"):
        resolve_in_folder(data_root, f"flights/{header.name}")
    assert resolve_in_folder(data_root, "flights/line_01.hdr").name == "line_01.hdr"  # its neighbour still opens


@pytest.mark.parametrize("name", ["", "  ", None, 5, "nothing.npy", "/etc/passwd", "flights"])
def test_bad_or_missing_names(data_root, name):
    with pytest.raises(CubeError):
        resolve_in_folder(data_root, name)


def test_folder_file_id_follows_its_data(data_root):
    header = resolve_in_folder(data_root, "flights/line_01.hdr")
    before = folder_source_id(header)
    assert folder_source_id(header) == before
    data = data_root / "flights" / "line_01.img"
    data.write_bytes(data.read_bytes()[::-1])
    os.utime(data, ns=(1, 1))
    assert folder_source_id(header) != before


def test_folder_file_is_stored_in_place(data_root, tmp_path):
    store = CubeStore(tmp_path / "store")
    header = resolve_in_folder(data_root, "flights/line_01.hdr")
    fractions = []
    cube_id = store.put_path(header, folder_source_id(header), progress=fractions.append)
    np.testing.assert_array_equal(np.moveaxis(np.asarray(store.open(cube_id).bsq), 0, 2), sample_cube(dtype="i2"))
    assert fractions[-1] == 1.0


# ---------------------------------------------------------------- URLs

PREFIXES = ["s3://cubes/"]


@pytest.mark.parametrize(
    "url,problem",
    [
        ("s3://key:secret@cubes/a.hdr", "credentials"),
        ("s3://cubes/a.hdr?versionId=1", "query"),
        ("simplecache::s3://cubes/a.hdr", "Chained"),
        ("s3://cubes/../other/a.hdr", r"\.\."),
        ("s3://other-bucket/a.hdr", "only"),
        ("file:///etc/passwd", "only"),
        ("http://169.254.169.254/latest/meta-data", "only"),
        ("s3://cubes/a b.hdr", "no spaces"),
        ("<script>alert(1)</script>", "no spaces"),
        (None, "no spaces"),
    ],
)
def test_hostile_urls_refused(url, problem):
    with pytest.raises(CubeError, match=problem):
        check_url(url, PREFIXES)


def test_urls_disabled_without_prefixes():
    with pytest.raises(CubeError, match="not enabled"):
        check_url("s3://cubes/a.hdr", [])


def test_allowed_url_passes():
    assert check_url(" s3://cubes/flights/a.hdr ", PREFIXES) == "s3://cubes/flights/a.hdr"


# ---------------------------------------------------------------- a real S3 endpoint


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3():
    """A moto S3 server on localhost; credentials and endpoint come from the environment, as
    in a deployment."""
    pytest.importorskip("s3fs")
    server_module = pytest.importorskip("moto.server")
    port = _free_port()
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    import fsspec

    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    fs.mkdir("cubes")
    fs.mkdir("shared")
    try:
        yield fs
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_url_with_envi_pair_is_fetched_and_converted(s3, tmp_path):
    header, data = write_envi(
        tmp_path,
        sample_cube(dtype="f4"),
        name="flight",
        interleave="bip",
        byte_order=1,
        extra="wavelength = {400,500,600,700,800,900}\nwavelength units = nm\n",
    )
    s3.put_file(str(header), "cubes/lines/flight.hdr")
    s3.put_file(str(data), "cubes/lines/flight.img")
    store = CubeStore(tmp_path / "store")
    fractions = []
    url = check_url("s3://cubes/lines/flight.hdr", PREFIXES)
    cube_id = store.put_url(url, progress=fractions.append)
    cube = store.open(cube_id)
    np.testing.assert_array_equal(np.moveaxis(np.asarray(cube.bsq), 0, 2), sample_cube(dtype="f4"))
    assert cube.wavelengths[-1] == 900
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert store.put_url(url) == cube_id  # known: nothing fetched again
    assert not list((tmp_path / "store" / "tmp").iterdir())


def test_missing_object_is_a_message(s3, tmp_path):
    with pytest.raises(CubeError, match="no object"):
        CubeStore(tmp_path / "store").put_url("s3://cubes/none.npy")


def test_two_servers_share_one_store(s3, tmp_path):
    """A cube uploaded to one server opens on another (its own local store) by id alone."""
    url = "s3://shared/two-servers"
    first = CubeStore(tmp_path / "first", shared=url)
    second = CubeStore(tmp_path / "second", shared=url)
    header, data = write_envi(tmp_path, sample_cube(dtype="i2"), interleave="bil")
    cube_id = first.put_files([(header.name, header.read_bytes()), (data.name, data.read_bytes())])
    assert cube_id in second
    np.testing.assert_array_equal(np.asarray(second.open(cube_id).bsq), np.asarray(first.open(cube_id).bsq))
    assert (tmp_path / "second" / "objects" / cube_id / "data.npy").is_file()  # now held locally


def test_damaged_shared_copy_is_never_served(s3, tmp_path):
    url = "s3://shared/damaged"
    first = CubeStore(tmp_path / "first", shared=url)
    cube_id = first.put_files([("x.npy", _npy_bytes(sample_cube()))])
    remote = f"shared/damaged/objects/{cube_id}/data.npy"
    raw = bytearray(s3.cat_file(remote))
    raw[-3] ^= 0x40
    s3.pipe_file(remote, bytes(raw))
    second = CubeStore(tmp_path / "second", shared=url)
    with pytest.raises(CubeError, match="damaged or incomplete"):
        second.open(cube_id)
    assert not (tmp_path / "second" / "objects" / cube_id).exists()


def test_entry_without_meta_is_not_served(s3, tmp_path):
    """A server that crashed between uploading the data and the meta leaves nothing usable."""
    url = "s3://shared/crashed"
    first = CubeStore(tmp_path / "first", shared=url)
    cube_id = first.put_files([("x.npy", _npy_bytes(sample_cube(seed=3)))])
    s3.rm_file(f"shared/crashed/objects/{cube_id}/meta.json")
    second = CubeStore(tmp_path / "second", shared=url)
    assert cube_id not in second
    with pytest.raises(CubeError, match="not on the server"):
        second.open(cube_id)
    meta = json.loads((tmp_path / "first" / "objects" / cube_id / "meta.json").read_text())
    assert meta["format_version"] == 3


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.mark.parametrize("prefix", ["s3://bucket", "s3://bucket/"])
def test_prefixes_match_whole_path_segments(prefix):
    """Issue 26 #1: a prefix without a trailing slash once let s3://bucket-evil/ through."""
    assert check_url("s3://bucket/x.npy", [prefix]) == "s3://bucket/x.npy"
    for other in ("s3://bucket-evil/x.npy", "s3://bucket.private/x.npy", "s3://bucketx"):
        with pytest.raises(CubeError, match="only"):
            check_url(other, [prefix])


def test_a_folder_prefix_allows_that_folder_only():
    assert check_url("s3://cubes/flights/a.hdr", ["s3://cubes/flights"])
    with pytest.raises(CubeError, match="only"):
        check_url("s3://cubes/flights2/a.hdr", ["s3://cubes/flights"])
