"""Reports of real finished jobs on the demo cube: the PDF's pages and text (pypdf), the XLSX's
cells (openpyxl) against the job's own per-unit table, the HTML's embedded map, the refusals
(another user's job, a job not finished, a job that is not an indicator's) and the CLI."""

from __future__ import annotations

import base64
import io
import itertools
import os
import re
import subprocess
import sys

import pypdf
import pytest
from openpyxl import load_workbook

from sdgcube.auth.identity import Caller, Identity
from sdgcube.auth.policy import Role
from sdgcube.errors import InvalidRequest, UnknownJob
from sdgcube.processes.services import Services
from sdgcube.reports import NoReport, job_for_report, norm_format, render
from sdgcube.reports.charts import bar_chart
from sdgcube.reports.content import format_value
from sdgcube.reports.xlsx import sheet_name

# --- pure functions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "–"), (12.5, "12.5"), (14.46540, "14.4654"), (0.0, "0"), (-0.00001, "0"), (1234.5, "1,234.5"),
     (2024, "2024"), (123456, "123,456"), (float("nan"), "–"), (True, "yes"), ("D1", "D1")],
)  # fmt: skip
def test_format_value(value, text):
    assert format_value(value) == text


def test_norm_format_names_the_bad_value():
    assert norm_format(None) == "html" and norm_format("PDF") == "pdf"
    with pytest.raises(InvalidRequest, match="f='docx' is not a report format"):
        norm_format("docx")


def test_sheet_names_follow_excels_rules():
    assert sheet_name("SO1-4 / SDG 15.3.1: [total]?") == "SO1-4 - SDG 15.3.1- -total--"
    assert len(sheet_name("x" * 40)) == 31


def test_bar_chart_marks_missing_values_and_escapes_labels():
    chart = bar_chart("degraded pct", ["<North>", "South"], [12.5, None], "PT")
    assert chart.svg.startswith("<svg") and "&lt;North&gt;" in chart.svg and "no data" in chart.svg
    assert "12.5" in chart.svg and "<script" not in chart.svg and "href" not in chart.svg


# --- a real sdg-15-3-1 job ----------------------------------------------------------------------------


def _text(pdf: bytes) -> tuple[pypdf.PdfReader, str]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


@pytest.mark.slow
def test_pdf_pages_hold_title_units_and_the_jobs_numbers(report_15_3_1, pdf_15_3_1, job_15_3_1):
    report, document = report_15_3_1
    reader, text = _text(pdf_15_3_1)
    assert pdf_15_3_1[:5] == b"%PDF-" and len(reader.pages) >= 3
    first = reader.pages[0].extract_text()
    assert "SDG 15.3.1 land degradation: indicator report" in first
    assert "2016-2020" in first and job_15_3_1 in first
    flat = " ".join(text.split())
    for row in document["summary"]["rows"]:
        assert row["unit_name"] in flat
        for key in ("degraded_pct", "reporting_degraded_pct", "degraded_km2", "land_km2"):
            assert format_value(row[key]) in flat, (row["unit_id"], key)
    sizes = {
        (round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in reader.pages
    }
    assert sizes == {(595, 842), (842, 595)}  # A4, the wide tables on landscape pages
    for heading in (
        "Maps",
        "Method",
        "Provenance",
        "SO1-2 Land productivity dynamics",
        "SO1-3 Soil organic carbon",
    ):
        assert heading in flat
    assert "trajectory_period" in flat and report.provenance.software in flat


def _ink_bottoms(pdf: bytes) -> list[tuple[float, bool]]:
    """Per page: how far down the body's lowest ink reaches (0 top, 1 bottom; the footer in the
    bottom margin left out) and whether the page is portrait."""
    import numpy as np
    import pypdfium2

    out = []
    for page in pypdfium2.PdfDocument(pdf):
        grey = np.asarray(page.render(scale=0.5, grayscale=True).to_pil().convert("L"))
        height, portrait = grey.shape[0], grey.shape[0] > grey.shape[1]
        body = grey[: int(height * (1 - 18 / (297 if portrait else 210)))]  # 18 mm bottom margin
        inked = np.nonzero((body < 200).any(axis=1))[0]
        out.append((float(inked.max()) / height if inked.size else 0.0, portrait))
    return out


@pytest.mark.slow
def test_pdf_page_one_holds_the_summary_and_a_map_and_no_page_is_wasted(report_15_3_1, pdf_15_3_1):
    report, _ = report_15_3_1
    reader = pypdf.PdfReader(io.BytesIO(pdf_15_3_1))
    first = " ".join(reader.pages[0].extract_text().split())
    assert report.title in first
    assert first.index("Summary") < first.index("Maps") < first.index(report.maps[0].title)
    for unit_id, name in report.units:
        assert f"{unit_id} {name}" in first
    # A page may end short only where the next one changes orientation (a forced break): when the
    # maps moved whole to page 2, page 1's ink ended at a quarter of its height.
    bottoms = _ink_bottoms(pdf_15_3_1)
    for i, ((bottom, portrait), (_, next_portrait)) in enumerate(itertools.pairwise(bottoms)):
        if portrait == next_portrait:
            assert bottom > 0.6, (i + 1, bottoms)
    assert len(reader.pages) <= 8  # the layout before this test: 9, page 1 holding the header only


@pytest.mark.slow
def test_xlsx_cells_equal_the_jobs_per_unit_table(report_15_3_1):
    report, document = report_15_3_1
    book = load_workbook(io.BytesIO(render(report, "xlsx")))
    assert book.sheetnames == ["Report", "SO1-1 land cover", "SO1-1 change matrix", "SO1-1 degradation",
                               "SO1-2 LPD", "SO1-2 LPD reporting", "SO1-3 SOC", "SO1-4 SDG 15.3.1", "Per unit"]  # fmt: skip
    rows = document["summary"]["rows"]
    per_unit = list(book["Per unit"].values)
    keys = list(per_unit[0])
    assert [dict(zip(keys, values, strict=True)) for values in per_unit[1:]] == rows

    so1_4 = list(book["SO1-4 SDG 15.3.1"].values)
    header = so1_4[1]
    at = {title: i for i, title in enumerate(header)}
    body = {r[0]: r for r in so1_4[2:] if r and r[0] is not None}
    for row in rows:
        cells = body[row["unit_id"]]
        assert cells[at["Proportion degraded (baseline) (%)"]] == row["degraded_pct"]
        assert cells[at["Proportion degraded (reporting) (%)"]] == row["reporting_degraded_pct"]
        assert cells[at["Degraded (km²)"]] == row["degraded_km2"]
    total = body["total"]
    degraded, land = sum(r["degraded_km2"] for r in rows), sum(r["land_km2"] for r in rows)
    assert total[at["Proportion degraded (baseline) (%)"]] == pytest.approx(
        100 * degraded / land, abs=1e-3
    )

    by_area = {r["unit_id"]: r["area_km2"] for r in rows}
    lpd = list(book["SO1-2 LPD"].values)[2:]
    for r in (r for r in lpd if r[0] in by_area):  # each pixel of a unit: one class or no data
        assert sum(r[2:8]) == pytest.approx(by_area[r[0]], abs=1e-4)
    cover = list(book["SO1-1 land cover"].values)[2:]
    for unit, area in by_area.items():
        assert sum(r[3] for r in cover if r[0] == unit) == pytest.approx(area, abs=1e-4)
    soc = {r[0]: r for r in list(book["SO1-3 SOC"].values)[2:]}
    d3 = soc["D3"]  # the planted soil-carbon loss lies in the south-west
    assert d3[6] < 0 and d3[8] > 0


@pytest.mark.slow
def test_html_embeds_the_maps_and_fetches_nothing(report_15_3_1):
    report, _ = report_15_3_1
    page = render(report, "html").decode()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == len(report.maps) == 3
    assert all(base64.b64decode(image)[:8] == b"\x89PNG\r\n\x1a\n" for image in images)
    assert not re.search(r'(src|href)="(?!data:)', page)
    for label in ("Degraded", "Stable", "Improved", "Declining", "Moderate decline"):
        assert label in page
    assert page.count("<svg") == len(report.charts) == 3


@pytest.mark.slow
def test_another_indicator_gets_a_plain_per_unit_sheet(report_15_1_1):
    report, document = report_15_1_1
    book = load_workbook(io.BytesIO(render(report, "xlsx")))
    assert book.sheetnames == ["Report", "Per unit"]
    values = list(book["Per unit"].values)
    assert [dict(zip(values[0], v, strict=True)) for v in values[1:]] == document["summary"]["rows"]
    assert report.value_field == "forest_pct" and report.maps
    page = render(
        report, "html"
    ).decode()  # the PDF is this page laid out: the 15.3.1 test reads one
    assert all(row["unit_name"] in page for row in document["summary"]["rows"])
    assert format_value(document["summary"]["rows"][0]["forest_pct"]) in page
    assert (
        page.count("<svg") == 2 and "forest pct per year" in page
    )  # values, and the yearly series


def _caller(user: str) -> Caller:
    return Caller(Identity(user, "user", via="key"), role=Role("user", read=("*",), execute=("*",)))


@pytest.mark.slow
def test_only_a_visible_successful_indicator_job_has_a_report(
    report_services, job_15_1_1, tmp_path
):
    with pytest.raises(UnknownJob):
        job_for_report(report_services, job_15_1_1, _caller("mallory"))  # the anonymous user's job
    with pytest.raises(UnknownJob):
        job_for_report(report_services, "no-such-job", _caller("mallory"))
    store = report_services.jobs
    store.add("queued-job", "sdg-15-1-1", {})
    with pytest.raises(NoReport, match="'queued-job' is accepted: only a successful job"):
        job_for_report(report_services, "queued-job", _caller("anonymous"))
    result = tmp_path / "result.json"
    result.write_text('{"collections": {"band_math": "x"}}')
    store.add("band-math-job", "band-math", {})
    store.finish("band-math-job", "successful", "done", location=str(result))
    with pytest.raises(NoReport, match="not an indicator job"):
        job_for_report(report_services, "band-math-job", _caller("anonymous"))


def _cli(services: Services, *args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI on the services' index (their PostGIS database, when that is the backend)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDGCUBE_")}
    if services.settings.db_url is not None:
        env["SDGCUBE_DB_URL"] = services.settings.db_url.get_secret_value()
    data_dir = services.settings.data_dir
    return subprocess.run([sys.executable, "-m", "sdgcube.cli", "report", *args, "--data-dir", str(data_dir)],
                          env=env, capture_output=True, text=True, timeout=600, check=False)  # fmt: skip


@pytest.mark.slow
def test_cli_writes_the_files_and_refuses_in_one_line(report_services, job_15_3_1, tmp_path):
    report_services.jobs.add("cli-queued-job", "sdg-15-3-1", {})
    pdf, xlsx = tmp_path / "r.pdf", tmp_path / "r.xlsx"
    done = _cli(report_services, job_15_3_1, "--pdf", str(pdf), "--xlsx", str(xlsx))
    assert done.returncode == 0, done.stderr
    assert pdf.read_bytes()[:5] == b"%PDF-" and xlsx.read_bytes()[:2] == b"PK"
    assert not list(tmp_path.glob(".*.tmp"))
    for args, message in [(("nope", "--pdf", str(pdf)), "unknown job 'nope'"),
                          ((job_15_3_1,), "give at least one of --pdf"),
                          (("cli-queued-job", "--pdf", str(pdf)), "only a successful job has a report")]:  # fmt: skip
        refused = _cli(report_services, *args)
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
        assert message in refused.stderr
