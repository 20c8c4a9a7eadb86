"""The data migration that made every photo a ScanPhoto row (0008_photo_as_unit), run on a copy of the old
layout: a one-photo scan analysed before per-photo results, a three-photo scan with them, a queued scan and a
scan whose photo retention deleted. Forwards, then backwards."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("diagnosis", "0007_scan_lesions")]
AFTER = [("diagnosis", "0008_photo_as_unit")]
PROBS = {"acne": 0.7, "eczema": 0.1, "healthy": 0.1, "rosacea": 0.1}


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def photo_result(view, label, counted=True):
    return {"view": view, "label": label, "reason": "confident", "probabilities": PROBS,
            "quality": {"blurry": view == "left"}, "counted": counted}


@pytest.fixture
def old_layout(transactional_db, django_user_model):
    """Scans stored the old way (the front photo in Scan's own columns); the latest schema again afterwards."""
    old_apps = migrate(BEFORE)
    owner = django_user_model.objects.create_user(email="old@example.com", password="x-long-password-1")
    Scan = old_apps.get_model("diagnosis", "Scan")
    ScanPhoto = old_apps.get_model("diagnosis", "ScanPhoto")
    common = {"owner_id": owner.pk, "probabilities": PROBS, "top_probability": 0.7}
    legacy = Scan.objects.create(**common, status="done", label="acne", reason="confident", quality={"blurry": True},
                                 image="scans/legacy.jpg", thumbnail="thumbs/legacy.jpg", heatmap="heatmaps/l.jpg",
                                 heatmap_box=[0.1, 0.2, 0.9, 0.8], image_width=640, image_height=800,
                                 lesions={"count": 3, "grade": 0, "boxes": []})
    multi = Scan.objects.create(**common, status="done", label="acne", reason="confident",
                                image="scans/front.jpg", thumbnail="thumbs/front.jpg", image_width=600,
                                image_height=800, photo_results=[photo_result("front", "acne"),
                                                                 photo_result("left", "uncertain", counted=False),
                                                                 photo_result("right", "acne")])
    for view in ("left", "right"):
        ScanPhoto.objects.create(scan=multi, view=view, image=f"scans/{view}.jpg", thumbnail=f"thumbs/{view}.jpg",
                                 image_width=300, image_height=400)
    queued = Scan.objects.create(owner_id=owner.pk, status="queued", image="scans/q.jpg", thumbnail="thumbs/q.jpg",
                                 image_width=100, image_height=100)
    purged = Scan.objects.create(**common, status="done", label="eczema", image="", thumbnail="",
                                 image_deleted_at="2026-01-01T00:00:00Z")
    yield {"legacy": legacy.pk, "multi": multi.pk, "queued": queued.pk, "purged": purged.pk}
    migrate(executor_leaf_nodes())


def executor_leaf_nodes():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def test_every_photo_becomes_a_row_with_its_own_result_and_back(old_layout):
    new_apps = migrate(AFTER)
    ScanPhoto = new_apps.get_model("diagnosis", "ScanPhoto")

    def photos(key):
        return list(ScanPhoto.objects.filter(scan_id=old_layout[key]).order_by("position").values(
            "view", "position", "image", "thumbnail", "heatmap", "heatmap_box", "image_width", "image_height",
            "lesions", "label", "reason", "probabilities", "quality", "counted"))

    (front,) = photos("legacy")  # analysed before per-photo results: its one photo's result is the scan's
    assert front == {"view": "front", "position": 0, "image": "scans/legacy.jpg", "thumbnail": "thumbs/legacy.jpg",
                     "heatmap": "heatmaps/l.jpg", "heatmap_box": [0.1, 0.2, 0.9, 0.8], "image_width": 640,
                     "image_height": 800, "lesions": {"count": 3, "grade": 0, "boxes": []}, "label": "acne",
                     "reason": "confident", "probabilities": PROBS, "quality": {"blurry": True}, "counted": True}

    multi = photos("multi")
    assert [(p["view"], p["position"], p["image"], p["label"], p["counted"]) for p in multi] == [
        ("front", 0, "scans/front.jpg", "acne", True), ("left", 1, "scans/left.jpg", "uncertain", False),
        ("right", 2, "scans/right.jpg", "acne", True)]
    assert multi[1]["quality"] == {"blurry": True} and multi[1]["image_width"] == 300

    (waiting,) = photos("queued")  # not analysed: a photo with no result yet
    assert (waiting["image"], waiting["label"], waiting["counted"]) == ("scans/q.jpg", "", None)
    (gone,) = photos("purged")  # retention deleted the photo: the row keeps the result
    assert (gone["image"], gone["label"]) == ("", "eczema")

    old_apps = migrate(BEFORE)  # and back: the front photo on the scan, the results in photo_results
    Scan = old_apps.get_model("diagnosis", "Scan")
    multi_scan = Scan.objects.get(pk=old_layout["multi"])
    assert (multi_scan.image, multi_scan.image_width) == ("scans/front.jpg", 600)
    assert [(r["view"], r["label"], r["counted"]) for r in multi_scan.photo_results] == [
        ("front", "acne", True), ("left", "uncertain", False), ("right", "acne", True)]
    assert old_apps.get_model("diagnosis", "ScanPhoto").objects.filter(scan_id=old_layout["multi"]).count() == 2
    legacy = Scan.objects.get(pk=old_layout["legacy"])
    assert (legacy.heatmap, legacy.lesions["count"]) == ("heatmaps/l.jpg", 3)
