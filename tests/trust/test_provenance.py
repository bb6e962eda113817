"""What a file says about itself: camera EXIF, AI labels in XMP, generator text in PNGs, C2PA boxes;
and nothing from a bare file or from bytes that are not an image."""

import io

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from aiart.trust.provenance import clues
from tests.conftest import synthetic_art

XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
    'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/{kind}"/>'
    "</rdf:RDF></x:xmpmeta>"
)


def jpeg(**save) -> bytes:
    buf = io.BytesIO()
    synthetic_art(0, False, (40, 48)).save(buf, "JPEG", **save)
    return buf.getvalue()


def png(fields: dict[str, str]) -> bytes:
    info = PngInfo()
    for key, value in fields.items():
        info.add_text(key, value)
    buf = io.BytesIO()
    synthetic_art(1, True, (40, 48)).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def said(data: bytes) -> list[tuple[str, str]]:
    return [(c.points_to, c.text) for c in clues(data)]


def test_a_phone_photo_names_its_camera_and_software():
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0131] = "Apple", "iPhone 13", "17.1"
    assert said(jpeg(exif=exif)) == [
        ("camera", "Its EXIF names a camera: Apple iPhone 13."),
        ("", "Its metadata names the software that saved it: 17.1."),
    ]


@pytest.mark.parametrize("kind", ["trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia"])
def test_an_iptc_ai_label_in_xmp(kind):
    (found,) = clues(jpeg(xmp=XMP.format(kind=kind).encode()))
    assert found.points_to == "AI" and kind in found.text


def test_a_plain_digital_capture_label_is_no_ai_clue():
    assert clues(jpeg(xmp=XMP.format(kind="digitalCapture").encode())) == []


@pytest.mark.parametrize(
    "fields, words",
    [
        ({"parameters": "a castle, Steps: 20, Sampler: Euler a"}, "Stable Diffusion generation settings"),
        ({"prompt": "{}", "workflow": "{}"}, "ComfyUI"),
        ({"Software": "NovelAI", "Comment": "{}"}, "saved it: NovelAI"),
    ],
)
def test_generator_settings_in_png_text(fields, words):
    found = clues(png(fields))
    assert found and all(c.points_to == "AI" for c in found) and any(words in c.text for c in found)


def test_a_c2pa_manifest_box_is_found_not_verified():
    data = jpeg()
    box = b"\xff\xeb\x00\x20JP\x00\x01\x00\x00\x00\x01\x00\x00\x00\x18jumb\x00\x00\x00\x10jumdc2pa"
    found = said(data[:2] + box + data[2:])  # an APP11 segment right after SOI, as C2PA writes it
    assert found == [
        ("", "It carries Content Credentials (C2PA), which AI tools and some cameras attach: not verified here.")
    ]
    assert Image.open(io.BytesIO(data[:2] + box + data[2:])).size == (48, 40)  # still a valid JPEG


def test_no_metadata_and_no_image_say_nothing():
    assert clues(jpeg()) == [] and clues(png({})) == []
    assert clues(b"just some text") == [] and clues(b"") == []
