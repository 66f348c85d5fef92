"""The audit table as intake writes it (:class:`common.audit_store.AuditLog`): the logic records accesses
through this module, so it reaches DynamoDB only through its own ``dal`` (docs/architecture.md, "Layers")."""

from common.audit_store import AuditLog as AuditLog
from common.audit_store import PendingAudit as PendingAudit
