"""Reports through HTTP on a live server: a sdg-15-3-1 job submitted and finished, then its report
as PDF, XLSX and HTML; an unknown format and an unknown job refused. Page 1 of the report is kept
as ``tests/artifacts/report-15-3-1.png``."""

from __future__ import annotations

import importlib.util
import io
import shutil
import subprocess
from pathlib import Path

import httpx
import pypdf
import pytest
from openpyxl import load_workbook

from tests.browser import ARTIFACTS, browsing
from tests.server.conftest import http, served_demo, server  # noqa: F401 - fixtures used here

pytestmark = pytest.mark.slow

ARTIFACT = "report-15-3-1"


def _finished_job(server, http: httpx.Client) -> str:  # noqa: F811 - the fixture, passed on
    inputs = {"reporting_period": {"years": [2016, 2020], "soc_baseline_year": 2000}}
    response = http.post("/processes/sdg-15-3-1/execution", json={"inputs": inputs},
                         headers={"Prefer": "respond-async"})  # fmt: skip
    assert response.status_code == 201, response.text
    job_id = response.json()["jobID"]

    def finished() -> bool:
        status = http.get(f"/jobs/{job_id}", params={"f": "json"}).json()
        assert status["status"] != "failed", status["message"]
        return status["status"] == "successful"

    server.wait_for(finished, timeout=300, what="the sdg-15-3-1 job")
    return job_id


def _page_one_png(pdf: bytes, html_url: str, target: Path) -> str:
    """Page 1 as PNG: rasterised from the PDF when pypdfium2 or poppler's pdftoppm is installed,
    else Chromium's print-media rendering of the same HTML page at A4 width. Says which."""
    if importlib.util.find_spec("pypdfium2") is not None:
        import pypdfium2

        pypdfium2.PdfDocument(pdf)[0].render(scale=2).to_pil().save(target)
        return "pdf (pypdfium2)"
    if shutil.which("pdftoppm"):
        source = target.with_suffix(".pdf")
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile",
                        str(source), str(target.with_suffix(""))], check=True, timeout=120)  # fmt: skip
        source.unlink()
        return "pdf (pdftoppm)"
    with browsing(width=794, height=1123) as browsed:  # A4 at 96 dpi
        browsed.page.emulate_media(media="print")
        browsed.page.goto(html_url)
        browsed.screenshot(target.stem)
        assert browsed.foreign() == []
    return "html (chromium)"


def test_report_of_a_job_as_pdf_xlsx_and_html(server, http: httpx.Client) -> None:  # noqa: F811
    job_id = _finished_job(server, http)
    pdf = http.get(f"/jobs/{job_id}/report", params={"f": "pdf"})
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content[:5] == b"%PDF-"
    assert f"report-{job_id}.pdf" in pdf.headers["content-disposition"]
    reader = pypdf.PdfReader(io.BytesIO(pdf.content))
    results = http.get(f"/jobs/{job_id}/results", params={"f": "json"}).json()
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    for row in results["summary"]["rows"]:
        assert row["unit_name"] in text

    xlsx = http.get(f"/jobs/{job_id}/report", params={"f": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith(
        "application/vnd.openxml"
    )
    book = load_workbook(io.BytesIO(xlsx.content))
    assert "SO1-4 SDG 15.3.1" in book.sheetnames
    values = list(book["Per unit"].values)
    assert [dict(zip(values[0], v, strict=True)) for v in values[1:]] == results["summary"]["rows"]

    html = http.get(f"/jobs/{job_id}/report")  # HTML by default
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert html.text.count('src="data:image/png;base64,') == 3

    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / f"{ARTIFACT}.png"
    how = _page_one_png(pdf.content, f"{server.url}/jobs/{job_id}/report?f=html", target)
    assert target.read_bytes()[:4] == b"\x89PNG", how

    bad = http.get(f"/jobs/{job_id}/report", params={"f": "docx"})
    assert bad.status_code == 400 and bad.json()["code"] == "InvalidParameterValue"
    assert "docx" in bad.json()["description"]


def test_unknown_job_has_no_report(http: httpx.Client) -> None:  # noqa: F811
    response = http.get("/jobs/no-such-job/report", params={"f": "pdf"})
    assert response.status_code == 404
    assert response.json()["code"] == "NoSuchJob"
