"""Helpers of the privacy tests: capture what the services log, turn files and stored objects into text, and
the search patterns for a student's identifying data."""

from __future__ import annotations

import io
import json
import logging
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import boto3
from moto.events.models import events_backends
from moto.ses.models import ses_backends
from openpyxl import load_workbook

from avdual.runtime import ACCOUNT, REGION, LocalRuntime
from contracts.topology import BUCKETS, TABLES

SERVICES = ("intake", "matching", "reporting", "casework")


class Capture(logging.Handler):
    """Everything the services log, formatted as their Powertools handlers format it (JSON lines)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def captured_service_logs() -> Iterator[Capture]:
    """Attach a :class:`Capture` at DEBUG to the three services' loggers for the ``with`` block."""
    capture = Capture()
    loggers = [logging.getLogger(name) for name in SERVICES]
    levels = [lg.level for lg in loggers]
    for lg in loggers:  # the services' loggers may exist already (and write to an earlier test's stdout)
        capture.setFormatter(lg.handlers[0].formatter if lg.handlers else None)
        lg.addHandler(capture)
        lg.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(capture)
            lg.setLevel(level)


def text_of(name: str, data: bytes) -> str | None:
    """The readable text of a file called ``name`` (HTML/JSON/CSV, e-mail parts, XLSX cells, PDF text);
    ``None`` for other kinds. PDF needs ``pdftotext`` (poppler-utils)."""
    suffix = Path(name).suffix
    if suffix in (".html", ".json", ".csv", ".txt"):
        return data.decode("utf-8", errors="replace")
    if suffix == ".eml":
        msg = message_from_bytes(data, policy=policy.default)
        parts = [str(msg["Subject"])] + [
            part.get_content()
            for part in msg.walk()  # type: ignore[attr-defined]
            if part.get_content_maintype() == "text"
        ]
        return "\n".join(parts)
    if suffix == ".xlsx":
        wb = load_workbook(io.BytesIO(data), read_only=True)
        return "\n".join(
            str(v) for ws in wb for row in ws.iter_rows(values_only=True) for v in row if v is not None
        )
    if suffix == ".pdf" and shutil.which("pdftotext"):
        done = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True)
        return done.stdout.decode()
    return None


def texts_of(out: Path) -> dict[str, str]:
    """``path → text`` of every readable file under ``out``."""
    found: dict[str, str] = {}
    for p in sorted(out.rglob("*")):
        if p.is_file() and (text := text_of(p.name, p.read_bytes())) is not None:
            found[str(p)] = text
    return found


def identifiers(
    forms: list[dict[str, Any]], *, contacts: bool = False, staff: tuple[str, ...] = ()
) -> list[re.Pattern[str]]:
    """Patterns of each student's family name, full name and birth date (ISO and German); with ``contacts``
    also phone, e-mail and the remark. ``staff``: names of staff (companions, whom reports name); a family
    name that is also part of a staff name is searched only as the student's full name."""
    staff_words = {w for n in staff for w in n.split()}
    pats = []
    for f in forms:
        s = f["student"]
        dob = date.fromisoformat(s["date_of_birth"])
        if s["family_name"] not in staff_words:
            pats.append(re.compile(rf"(?<!\w){re.escape(s['family_name'])}(?!\w)"))
        pats += [
            re.compile(rf"(?<!\w){re.escape(s['given_name'])} {re.escape(s['family_name'])}(?!\w)"),
            re.compile(re.escape(s["date_of_birth"])),
            re.compile(re.escape(dob.strftime("%d.%m.%Y"))),
        ]
        if contacts:
            pats += [re.compile(re.escape(v)) for v in (s.get("phone"), s.get("email"), f.get("remark")) if v]
    return pats


def leaks(patterns: list[re.Pattern[str]], texts: dict[str, str]) -> list[tuple[str, str]]:
    """``(where, pattern)`` for every pattern found in a text."""
    return [(where, pat.pattern) for pat in patterns for where, text in texts.items() if pat.search(text)]


def everything_stored(rt: LocalRuntime) -> dict[str, str]:
    """Text of every table, outbox stream, queue, bucket object, archived event and SES message."""
    found: dict[str, str] = {}
    with rt.lock:
        for name in TABLES:
            found[f"table:{name}"] = json.dumps(rt.scan(name), default=str, ensure_ascii=False)
        ddb, streams = (
            boto3.client("dynamodb"),
            boto3.client("dynamodbstreams", endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com"),
        )
        for t in (t for t in TABLES.values() if t.stream):
            arn = ddb.describe_table(TableName=rt.names[t.name])["Table"]["LatestStreamArn"]
            records: list[Any] = []
            for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
                it = streams.get_shard_iterator(
                    StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
                while it:
                    resp = streams.get_records(ShardIterator=it, Limit=1000)
                    records += resp["Records"]
                    it = resp.get("NextShardIterator") if resp["Records"] else None
            found[f"stream:{t.name}"] = json.dumps(records, default=str, ensure_ascii=False)
        sqs = boto3.client("sqs")
        for url in sqs.list_queues(MaxResults=1000).get("QueueUrls", []):
            msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
            found[f"queue:{url}"] = json.dumps(msgs.get("Messages", []), ensure_ascii=False)
        s3 = boto3.client("s3")
        for b in BUCKETS:
            for obj in s3.list_objects_v2(Bucket=rt.names[b]).get("Contents", []):
                data = s3.get_object(Bucket=rt.names[b], Key=obj["Key"])["Body"].read()
                found[f"s3:{b}/{obj['Key']}"] = text_of(obj["Key"], data) or data.decode("utf-8", "replace")
        for archive in events_backends[ACCOUNT][REGION].archives.values():
            found[f"archive:{archive.name}"] = json.dumps(archive.events, default=str, ensure_ascii=False)
        for i, m in enumerate(ses_backends[ACCOUNT][REGION].sent_messages):
            raw = getattr(m, "raw_data", None) or json.dumps(vars(m), default=str, ensure_ascii=False)
            found[f"ses:{i}"] = text_of("m.eml", raw.encode()) if getattr(m, "raw_data", None) else raw
    return found
