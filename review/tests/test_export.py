import csv
import io

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from accounts.services import update_profile
from review import services
from review.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def consenting(user):
    return update_profile(user, consent_training=True)


@pytest.fixture
def world(make_scan, consenting, other_user, reviewer):
    """Alice consents; Bob does not."""
    scans = {
        "acne": make_scan(consenting, label="acne"),
        "corrected": make_scan(consenting, label="acne"),  # reviewer says rosacea
        "unusable": make_scan(consenting, label="eczema"),
        "unreviewed": make_scan(consenting, label="healthy"),
        "bob": make_scan(other_user, label="eczema"),
    }
    services.save_review(scan=scans["acne"], reviewer=reviewer, label="acne")
    services.save_review(scan=scans["corrected"], reviewer=reviewer, label="rosacea")
    services.save_review(scan=scans["unusable"], reviewer=reviewer, label="unusable")
    services.save_review(scan=scans["bob"], reviewer=reviewer, label="eczema")
    return scans


def _export(out, *args):
    buffer = io.StringIO()
    call_command("export_reviewed", "--out", str(out), *args, stdout=buffer)
    return buffer.getvalue()


def _manifest(out):
    with open(out / "manifest.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _images(out):
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*.jpg"))


def test_export_contains_only_consented_reviewed_usable_scans(tmp_path, world):
    out = tmp_path / "export"
    output = _export(out)
    assert "exported 2/2 (100%)" in output and "2 photos written" in output
    rows = _manifest(out)
    assert list(rows[0]) == ["path", "label", "source", "model_label", "reviewed_at"]
    got = sorted((r["label"], r["model_label"], r["source"]) for r in rows)
    assert got == [("acne", "acne", "facediag_review"), ("rosacea", "acne", "facediag_review")]
    assert _images(out) == sorted(r["path"] for r in rows)  # paths are relative to DIR
    for row in rows:
        assert row["path"].startswith(f"{row['label']}/") and len(row["reviewed_at"]) == 10
    assert AuditEvent.objects.filter(action="export.created").get().detail["written"] == 2


def test_export_has_no_personal_data_in_names_or_metadata(tmp_path, world, consenting):
    out = tmp_path / "export"
    _export(out)
    manifest = (out / "manifest.csv").read_text()
    for scan in world.values():
        assert str(scan.id) not in manifest and scan.id.hex not in manifest
        assert str(scan.id) not in "".join(_images(out)) and scan.id.hex not in "".join(_images(out))
    assert consenting.email not in manifest
    for path in out.rglob("*.jpg"):
        with Image.open(path) as img:
            assert img.format == "JPEG"
            assert not img.getexif() and "icc_profile" not in img.info and "comment" not in img.info
    # stable names: exporting again gives the same files
    first = _images(out)
    _export(out, "--replace")
    assert _images(out) == first


def test_withdrawing_consent_removes_photos_from_the_next_export(tmp_path, world, consenting):
    out = tmp_path / "export"
    _export(out)
    assert len(_images(out)) == 2
    update_profile(consenting, consent_training=False)
    _export(out, "--replace")
    assert _images(out) == [] and _manifest(out) == []
    update_profile(consenting, consent_training=True)
    _export(out, "--replace")
    assert len(_images(out)) == 2


def test_export_refuses_to_mix_with_existing_files(tmp_path, world):
    out = tmp_path / "export"
    out.mkdir()
    (out / "acne").mkdir()
    (out / "acne" / "someone-elses.jpg").write_bytes(b"x")
    with pytest.raises(CommandError, match="not empty"):
        _export(out)
    with pytest.raises(CommandError, match="does not look like a previous export"):
        _export(out, "--replace")
    assert (out / "acne" / "someone-elses.jpg").exists()


def test_deleted_photo_or_account_is_left_out(tmp_path, world, consenting):
    from accounts.services import delete_account

    world["acne"].first_photo.image.storage.delete(world["acne"].first_photo.image.name)
    out = tmp_path / "one"
    _export(out)
    assert [r["label"] for r in _manifest(out)] == ["rosacea"]
    delete_account(consenting)
    out2 = tmp_path / "two"
    _export(out2)
    assert _manifest(out2) == []


def test_layout_is_readable_by_the_training_loader(tmp_path, world):
    out = tmp_path / "export"
    _export(out)
    try:
        from ml.core.data import collect
    except ImportError:  # pragma: no cover - loader not there: check the layout by hand
        collect = None
    if collect is None:
        assert {p.parent.name for p in out.rglob("*.jpg")} <= {"acne", "eczema", "healthy", "rosacea"}
        return
    items = collect([out])
    assert sorted((it.label, it.source) for it in items) == [("acne", "facediag_review"),
                                                              ("rosacea", "facediag_review")]
    # combined with another DIR/<class>/* folder, as train_model --data A --data B does
    other = tmp_path / "skin4"
    (other / "eczema").mkdir(parents=True)
    Image.new("RGB", (32, 32), (200, 150, 130)).save(other / "eczema" / "skin4__1.jpg")
    assert sorted(it.label for it in collect([other, out])) == ["acne", "eczema", "rosacea"]
