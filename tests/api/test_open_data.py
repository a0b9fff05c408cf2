"""Open data: the daily file and the SKM file, their Table Schemas, caching, the follow-up register."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from frictionless import Resource, Schema

from app.api.routes_open_data import schema
from tests.api.test_stats_api import login, serve

WIB = ZoneInfo("Asia/Jakarta")
DAY = "2026-11-23"


def _validate(name: str, text: str) -> None:
    """The CSV validates against the Table Schema served beside it."""
    report = Resource(data=text.encode(), format="csv", schema=Schema.from_descriptor(
        {k: v for k, v in schema(name).items() if k != "$schema"})).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])


def _validate_rows(name: str, rows: list[dict]) -> None:
    """JSON rows validate against the same schema (as a table of the schema's fields)."""
    fields = [f["name"] for f in schema(name)["fields"]]
    table = [fields] + [[r[f] for f in fields] for r in rows]
    report = Resource(data=table, schema=Schema.from_descriptor(
        {k: v for k, v in schema(name).items() if k != "$schema"})).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])


@pytest.fixture
async def served_day(api, world, clock):
    clock.set(datetime(2026, 11, 23, 8, 0, tzinfo=WIB).astimezone(UTC))
    officer = await login(api, world.officer_d.username)
    tickets = await serve(api, clock, world, officer, 3, wait_min=5, service_min=4,
                          no_show_last=True)
    # Two surveys for the two served tickets; a comment that must never be published.
    for t, scores in zip(tickets[:2], ([4, 4, 3, 4, 3, 4, 4, 2, 3], [3, 4, 3, 4, 4, 4, 4, 1, 3]),
                         strict=True):
        r = await api.post("/api/v1/surveys", json={"tracking_code": t["tracking_code"],
                                                    "answers": scores,
                                                    "comment": "Budi 08123456789 kurang ramah"})
        assert r.status_code == 201, r.text
    return tickets


async def test_daily_json_csv_schema_and_cache(api, world, served_day):
    r = await api.get("/api/v1/open-data/daily", params={"from": DAY, "to": DAY})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["fields"][:3] == ["date", "site_code", "agency_code"]
    assert len(doc["data"]) == 1
    row = doc["data"][0]
    assert row == {"date": DAY, "site_code": "mpp-uji", "agency_code": "DUK-mpp-uji",
                   "service_code": "KTP", "service_name": "Perekaman KTP-el", "issued": 3,
                   "served": 2, "no_show": 1,
                   # Waits 5, 14 and 23 minutes; two services of 4 minutes.
                   "wait_mean_min": 14.0, "wait_median_min": 14.0,
                   "wait_p90_min": pytest.approx(21.2), "service_mean_min": 4.0}
    _validate_rows("daily", doc["data"])
    for t in served_day:
        assert t["tracking_code"] not in r.text and t["number"] not in r.text

    r = await api.get("/api/v1/open-data/daily",
                      params={"from": DAY, "to": DAY, "format": "csv", "site_id": world.site.id})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "daily.schema.json" in r.headers["link"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["service_code"], x["issued"], x["served"], x["no_show"]) for x in rows] == [
        ("KTP", "3", "2", "1")]
    _validate("daily", r.text)

    etag = r.headers["etag"]
    assert "max-age" in r.headers["cache-control"] and "public" in r.headers["cache-control"]
    again = await api.get("/api/v1/open-data/daily", headers={"If-None-Match": etag},
                          params={"from": DAY, "to": DAY, "format": "csv",
                                  "site_id": world.site.id})
    assert again.status_code == 304 and again.content == b""
    # The tag follows the content: a day with no events gives another file.
    other = await api.get("/api/v1/open-data/daily", headers={"If-None-Match": etag},
                          params={"from": "2026-11-22", "to": "2026-11-22", "format": "csv"})
    assert other.status_code == 200 and other.headers["etag"] != etag

    # Bad input: a stable 4xx, never a 500.
    for params, status in (({"from": DAY, "to": "2026-11-01"}, 422),
                           ({"site_id": 999999}, 404), ({"format": "xml"}, 422),
                           ({"from": "2020-01-01", "to": "2026-01-01"}, 422)):
        r = await api.get("/api/v1/open-data/daily", params=params)
        assert r.status_code == status and "code" in r.json()["error"], (params, r.text)


async def test_skm_file_with_follow_up_register(api, world, served_day, clock):
    admin = await login(api, world.admin.username)
    manager = await login(api, world.manager.username)
    officer = await login(api, world.officer_d.username)
    body = {"agency_id": world.dukcapil.id, "service_id": world.ktp.id,
            "period_from": "2026-10-01", "period_to": "2026-12-31", "unsur": "U8", "nrr": 1.5,
            "action": "Sediakan kotak dan kanal pengaduan daring", "owner": "Kepala Seksi Pelayanan",
            "due_date": "2027-01-31"}
    r = await api.post("/api/v1/skm/follow-ups", json=body, headers=officer)
    assert r.status_code == 403
    r = await api.post("/api/v1/skm/follow-ups", json={**body, "unsur": "U10"}, headers=manager)
    assert r.status_code == 422
    r = await api.post("/api/v1/skm/follow-ups",
                       json={**body, "service_id": world.paspor.id}, headers=manager)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_value"
    r = await api.post("/api/v1/skm/follow-ups", json=body, headers=manager)
    assert r.status_code == 201, r.text
    item = r.json()
    assert item["status"] == "planned" and item["unsur_name"].startswith("Penanganan Pengaduan")
    r = await api.patch(f"/api/v1/skm/follow-ups/{item['id']}", json={"status": "in_progress"},
                        headers=manager)
    assert r.status_code == 200 and r.json()["status"] == "in_progress"
    gone = await api.post("/api/v1/skm/follow-ups", json={**body, "unsur": "U3"}, headers=admin)
    assert (await api.delete(f"/api/v1/skm/follow-ups/{gone.json()['id']}",
                             headers=admin)).status_code == 204
    listed = (await api.get("/api/v1/skm/follow-ups", headers=manager)).json()["items"]
    assert [i["unsur"] for i in listed] == ["U8"]

    params = {"from": "2026-10-01", "to": "2026-12-31", "site_id": world.site.id}
    r = await api.get("/api/v1/open-data/skm", params=params)
    assert r.status_code == 200, r.text
    doc = r.json()
    by_code = {row["agency_code"]: row for row in doc["data"]}
    duk = by_code["DUK-mpp-uji"]
    assert duk["respondents"] == 2 and duk["population"] == 2 and duk["sample_minimum"] == 2
    assert duk["sample_reached"] is True
    assert duk["nrr"] == [3.5, 4.0, 3.0, 4.0, 3.5, 4.0, 4.0, 1.5, 3.0]
    # Sum of NRR = 30.5; x 1/9 x 25 = 84.722... -> 84.72, grade B.
    assert (duk["ikm"], duk["mutu"], duk["kinerja"]) == (84.72, "B", "Baik")
    imi = by_code["IMI-mpp-uji"]
    assert imi["respondents"] == 0 and imi["ikm"] is None
    assert [(f["unsur"], f["status"], f["owner"]) for f in doc["follow_up"]] == [
        ("U8", "in_progress", "Kepala Seksi Pelayanan")]
    assert "08123456789" not in r.text and "Budi" not in r.text
    _validate_rows("skm_follow_up", doc["follow_up"])

    r = await api.get("/api/v1/open-data/skm", params={**params, "format": "csv"})
    assert r.status_code == 200
    _validate("skm", r.text)
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows[0]["nrr_u8"] == "1.5" and rows[0]["ikm"] == "84.72"

    # A period the action does not cover publishes no action.
    r = await api.get("/api/v1/open-data/skm", params={"from": "2026-01-01", "to": "2026-03-31"})
    assert r.json()["follow_up"] == []


async def test_schemas_and_datapackage(api):
    for name in ("daily", "skm", "skm_follow_up"):
        r = await api.get(f"/api/v1/open-data/{name}.schema.json")
        assert r.status_code == 200 and r.json()["fields"]
        Schema.from_descriptor({k: v for k, v in r.json().items() if k != "$schema"})
    r = await api.get("/api/v1/open-data/datapackage.json")
    names = [res["name"] for res in r.json()["resources"]]
    assert names == ["antrean-harian", "skm"]
    assert (await api.get("/api/v1/open-data/other.schema.json")).status_code == 422


def test_default_periods(session, world, clock):
    from app.services.open_data import resolve_slice

    now = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # already the 24th in Jakarta
    sl = resolve_slice(session, now, site_id=world.site.id, start=None, end=None, default="days")
    assert (sl.start, sl.end) == (sl.end - timedelta(days=29), datetime(2026, 11, 24).date())
    sl = resolve_slice(session, now, site_id=world.site.id, start=None, end=None,
                       default="quarter")
    assert sl.start.isoformat() == "2026-10-01"


async def test_public_skm_page(api, world, served_day):
    manager = await login(api, world.manager.username)
    r = await api.post("/api/v1/skm/follow-ups", headers=manager, json={
        "agency_id": world.dukcapil.id, "period_from": "2026-10-01", "period_to": "2026-12-31",
        "unsur": "U8", "action": "Buka kanal pengaduan <daring>", "owner": "Kasi Pelayanan",
        "due_date": "2027-01-31"})
    assert r.status_code == 201
    r = await api.get("/skm", params={"site": "mpp-uji", "period": "quarter",
                                      "ref": "2026-11-23"})
    assert r.status_code == 200, r.text
    html = r.text
    assert "TW IV 2026" in html and "84.72" in html and "Kasi Pelayanan" in html
    assert "&lt;daring&gt;" in html and "<daring>" not in html  # escaped
    assert html.count("<svg") == 2 and "<script" not in html
    assert "kurang ramah" not in html  # comments are not published
    # Another period: no respondents, no action.
    r = await api.get("/skm", params={"site": "mpp-uji", "period": "year", "ref": "2025-05-01"})
    assert r.status_code == 200 and "Belum ada tindak lanjut" in r.text
    r = await api.get("/skm", params={"site": "mpp-uji", "lang": "en", "ref": "2026-11-23"})
    assert "IKM per agency" in r.text and "Service users" in r.text
    assert (await api.get("/skm", params={"site": "nope"})).status_code == 404
    assert (await api.get("/skm", params={"ref": "bukan-tanggal", "period": "x"})).status_code == 200
