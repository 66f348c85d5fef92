"""The Lambda service of the local runtime: imports a function's handler by the dotted path CDK uses and
calls it with a fake Lambda context; afterwards writes sent mail and stored files to ``out_dir``.
"""

from __future__ import annotations

import importlib
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avdual.runtime.base import ACCOUNT, REGION, RuntimeState
from contracts.topology import BUCKETS, FUNCTIONS


@dataclass
class FakeLambdaContext:
    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    timeout_ms: int = 30_000

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    @property
    def function_version(self) -> str:
        return "$LATEST"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_ms


def _decoded_subject(raw: str) -> str:
    from email import message_from_string
    from email.header import decode_header, make_header

    return str(make_header(decode_header(message_from_string(raw).get("Subject", ""))))


class LambdaService(RuntimeState):
    """Invokes the topology's functions (one process plays every function)."""

    def _count_call(self, service: str, operation: str) -> None:
        """Every AWS API call of the process (:mod:`avdual.runtime.call_count`): a function's own calls count
        in ``api_calls`` (and by function in ``api_calls_by_function``), the runtime's own (playing the Lambda
        service's pollers, set-up, inspection) in ``runtime_calls``."""
        name = f"{service}.{operation}"
        if service == "s3" and not operation.startswith(("Get", "Head", "List")):
            self._s3_writes += 1  # an object may have changed: export_outputs looks at the buckets
        if self._counting is None:
            self.runtime_calls[name] += 1
        else:
            self.api_calls[name] += 1
            self.api_calls_by_function[self._counting][name] += 1

    @contextmanager
    def counting(self, function: str) -> Iterator[None]:
        """Count the AWS API calls made while ``function``'s code runs as that function's."""
        prev, self._counting = self._counting, function
        try:
            yield
        finally:
            self._counting = prev

    def clear_call_counts(self) -> None:
        self.api_calls.clear()
        self.api_calls_by_function.clear()
        self.runtime_calls.clear()

    def handler(self, function: str) -> Callable[..., Any]:
        """Import the function's handler by its topology dotted path (cached)."""
        if function not in self._handlers:
            module, _, attr = FUNCTIONS[function].handler.rpartition(".")
            self._handlers[function] = getattr(importlib.import_module(module), attr)
        return self._handlers[function]

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        fn = FUNCTIONS[function]
        ctx = FakeLambdaContext(
            function_name=self.physical(fn.name),
            memory_limit_in_mb=fn.memory_mb,
            timeout_ms=fn.timeout_seconds * 1000,
        )
        with self.lock:
            writes = self._s3_writes
            try:
                with self.counting(function):
                    return self.handler(function)(event, ctx)
            finally:
                if self.out_dir is not None:  # the buckets are listed only if the function wrote to S3
                    self.export_outputs(buckets=fn.buckets if self._s3_writes != writes else ())

    def export_outputs(self, buckets: tuple[str, ...] | None = None) -> list[Path]:
        """Write emails sent through SES to ``<out_dir>/mail/*.eml`` and new objects of the topology buckets
        (``buckets``; default all) to ``<out_dir>/<bucket>/`` – after each invocation with ``out_dir`` (its
        function's buckets if it wrote to S3, otherwise only the mail)."""
        from moto.ses.models import ses_backends

        assert self.out_dir is not None
        written = []
        with self.lock:
            sent = ses_backends[ACCOUNT][REGION].sent_messages
            for n, msg in enumerate(sent[self._mail_exported :], self._mail_exported + 1):
                raw = getattr(msg, "raw_data", None)  # the platform sends raw MIME (SendRawEmail)
                if raw is None:
                    continue
                subject = re.sub(r"[^A-Za-z0-9äöüÄÖÜß]+", "-", _decoded_subject(raw))[:60].strip("-")
                name = f"{self.clock.now():%Y%m%d-%H%M%S}-{n:03d}-{subject or 'mail'}.eml"
                path = self.out_dir / "mail" / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(raw, encoding="utf-8")
                written.append(path)
            self._mail_exported = len(sent)
            s3 = self.poller_client("s3")
            for b in (BUCKETS[n] for n in (BUCKETS if buckets is None else buckets)):
                for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.names[b.name]):
                    for obj in page.get("Contents", []):
                        if self._mirrored.get((b.name, obj["Key"])) == obj["ETag"]:
                            continue  # exported already, unchanged (a redacted report is exported again)
                        self._mirrored[(b.name, obj["Key"])] = obj["ETag"]
                        key = Path(obj["Key"])
                        path = self.out_dir / b.name / f"{key.parent.name}-{key.name}"
                        path.parent.mkdir(parents=True, exist_ok=True)
                        body = s3.get_object(Bucket=self.names[b.name], Key=obj["Key"])["Body"].read()
                        path.write_bytes(body)
                        written.append(path)
        return written
