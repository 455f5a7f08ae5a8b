"""The one declaration of desktop_audit's classes and fields.

Models (store/models.py), CSV/XLSX columns (io/tabular.py), forms, the Parse
schema and the data dictionary (`desktop-audit schema`) are all derived from
the tuples below.  Class and field names are the Parse/Back4app names, so the
same names are used locally, on the wire and in exports.  Where the seed
document spelled a field differently, the other spelling is kept in
``aliases`` so that a file or app built from either version maps cleanly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal[
    "string",  # short single-line text
    "text",  # long free text
    "int",
    "bool",
    "date",  # calendar date, stored "YYYY-MM-DD"
    "datetime",  # instant, stored as ISO-8601 UTC "YYYY-MM-DDTHH:MM:SS.mmmZ"
    "enum",
    "pointer",  # objectId of another class
    "pointer_list",  # list of objectIds of another class
    "string_list",
    "object",  # JSON object (trail changes)
    "file",  # Parse File ({name, url}) once uploaded
    "secret",  # never exported, never logged (argon2id verifier)
]


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    label: str
    required: bool = False
    choices: tuple[str, ...] = ()
    target: str | None = None  # class name for pointer kinds
    aliases: tuple[str, ...] = ()  # the seed's other spelling(s)
    derived: bool = False  # computed by the rules, never typed by hand
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    unique: bool = False
    default: object = None
    help: str = ""
    suggestions: tuple[str, ...] = ()  # checklist / completions, free text allowed
    # A field the system fills (trail bookkeeping, file metadata): shown but not edited.
    system: bool = False

    @property
    def is_reference(self) -> bool:
        return self.kind in ("pointer", "pointer_list")

    @property
    def is_list(self) -> bool:
        return self.kind in ("pointer_list", "string_list")


@dataclass(frozen=True)
class ClassDef:
    name: str  # Parse class name
    table: str  # local SQLite table
    label: str
    plural: str
    fields: tuple[Field, ...]
    key: str  # the readable key used in files and messages (siteCode, username, ...)
    site_field: str | None = "site"  # the field that scopes the record to a site
    iso_clause: str = ""
    description: str = ""
    parse_name: str | None = None  # when the Parse class is named differently (_User)
    aliases: tuple[str, ...] = ()
    append_only: bool = False
    accounts: bool = False  # the sign-in accounts (Parse's own _User class)
    unique_together: tuple[tuple[str, ...], ...] = ()
    # Fields only the server keeps (never a local column): the trail's exact changes text.
    server_fields: tuple[Field, ...] = ()
    private: bool = False  # a server class only the master key reads
    _by_name: dict[str, Field] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update({f.name: f for f in self.fields})

    def __hash__(self) -> int:
        # One declaration per class name: hashing the name keeps the caches keyed by a class
        # (hot in an import) from hashing every field on every call.
        return hash(self.name)

    def get(self, name: str) -> Field:
        return self._by_name[name]

    def has(self, name: str) -> bool:
        return name in self._by_name

    @property
    def remote_name(self) -> str:
        return self.parse_name or self.name

    @property
    def editable_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if not f.derived and not f.system and f.kind != "secret")

    @property
    def derived_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.derived)

    @property
    def exported_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.kind != "secret")


# Columns every synced class has besides its own fields.
SYSTEM_COLUMNS = ("objectId", "createdAt", "updatedAt")

ROLES = ("admin", "manager", "coordinator", "auditor", "field_staff")

ASPECT_CATEGORIES = (
    "emissions_to_air",
    "releases_to_water",
    "releases_to_land",
    "raw_materials_and_natural_resources",
    "energy_use",
    "waste",
    "noise_and_vibration",
    "biodiversity",
    "other",
)
OPERATING_CONDITIONS = ("normal", "abnormal", "emergency")
ACTION_STATUSES = ("open", "in_progress", "controlled", "closed")
IMPACT_RATINGS = ("low", "medium", "high", "critical")
INSPECTION_STATUSES = ("pass", "needs_attention", "fail")
SEAL_STATUSES = ("intact", "broken", "missing")
SPILL_KIT_CHECKLIST = (
    "absorbent pads",
    "socks / booms",
    "pillows",
    "drain cover",
    "disposal bags",
    "gloves",
    "goggles",
    "instructions card",
)
REQUIREMENT_TYPES = (
    "legislation",
    "regulation",
    "permit",
    "licence",
    "contract",
    "voluntary",
    "other",
)
REVIEW_FREQUENCIES = ("monthly", "quarterly", "semiannual", "annual", "biennial")
COMPLIANCE_STATUSES = ("compliant", "partially_compliant", "non_compliant", "not_assessed")
REVIEW_STATUSES = ("planned", "in_progress", "completed", "approved")
LOG_TYPES = ("aspect", "spill_kit", "legal", "review", "general")
SEVERITIES = ("major_nc", "minor_nc", "observation", "opportunity")
TRAIL_ACTIONS = (
    "create",
    "update",
    "delete",
    "close",
    "reopen",
    "approve",
    "evaluate",
    "assign",
    "deactivate",
    "activate",
    "unlock",
    "resolve",
    "login",
    "login_failed",
    "sync",
    "export",
    "import",
)
MIME_TYPES = ("image/jpeg", "image/png")

F = Field

USER = ClassDef(
    name="User",
    parse_name="_User",
    table="user",
    label="User",
    plural="Users",
    key="username",
    site_field=None,
    accounts=True,
    description="A person who uses desktop_audit; the role decides what they may do.",
    fields=(
        F("username", "string", "Username", required=True, unique=True, max_length=64),
        F("email", "string", "Email", required=True, max_length=254),
        F("fullName", "string", "Full name", max_length=120),
        F("role", "enum", "Role", required=True, choices=ROLES),
        F("active", "bool", "Active", default=True),
        F("sites", "pointer_list", "Assigned sites", target="AuditSite"),
        F(
            "passwordVerifier",
            "secret",
            "Password verifier",
            help="argon2id hash of the password; the password itself is never stored",
        ),
    ),
)

SITE = ClassDef(
    name="AuditSite",
    table="audit_site",
    label="Site",
    plural="Sites",
    key="siteCode",
    site_field=None,
    description="A plant, depot or yard under the environmental management system.",
    fields=(
        F("siteCode", "string", "Site code", required=True, unique=True, max_length=32,
          help="Short unique code, e.g. PLT-01"),
        F("siteName", "string", "Site name", required=True, max_length=160),
        F("region", "string", "Region", required=True, max_length=120),
        F("locationNote", "text", "Location note"),
        F("siteOwner", "pointer", "Site owner", required=True, target="User",
          aliases=("manager",), help="Always also assigned to the site"),
        F("significanceThreshold", "int", "Significance threshold", minimum=1, maximum=25,
          default=12, help="riskRating at or above which an aspect is significant"),
        F("active", "bool", "Active", default=True),
        F("timeZone", "string", "Time zone", required=True, max_length=64,
          help="IANA time zone of the site, e.g. Europe/Warsaw: its due dates are dates there"),
    ),
)

ASPECT = ClassDef(
    name="AspectImpactLog",
    table="aspect_impact_log",
    label="Aspect & impact",
    plural="Aspects & impacts",
    key="objectId",
    iso_clause="6.1.2",
    description="An environmental aspect of an activity and the impact it can have.",
    fields=(
        F("site", "pointer", "Site", required=True, target="AuditSite"),
        F("aspectCategory", "enum", "Category", required=True, choices=ASPECT_CATEGORIES),
        F("aspectDescription", "text", "Aspect", required=True, aliases=("aspect",)),
        F("impact", "text", "Impact", required=True),
        F("operatingCondition", "enum", "Operating condition", choices=OPERATING_CONDITIONS,
          default="normal"),
        F("lifeCycleStage", "string", "Life-cycle stage", max_length=120),
        F("likelihood", "int", "Likelihood", required=True, minimum=1, maximum=5),
        F("severity", "int", "Severity", required=True, minimum=1, maximum=5),
        F("riskRating", "int", "Risk rating", derived=True, minimum=1, maximum=25,
          help="likelihood × severity"),
        F("impactRating", "enum", "Impact rating", derived=True, choices=IMPACT_RATINGS,
          help="low 1-4, medium 5-9, high 10-15, critical 16-25"),
        F("obligationRefs", "string_list", "Compliance obligations",
          help="referenceCodes of the legal register entries this aspect is tied to"),
        F("thresholdApplied", "int", "Threshold applied", derived=True,
          help="the site's significance threshold when the rating was made"),
        F("significant", "bool", "Significant", derived=True,
          help="riskRating ≥ thresholdApplied, or tied to a compliance obligation"),
        F("controlMeasure", "text", "Control measure"),
        F("actionStatus", "enum", "Action status", required=True, choices=ACTION_STATUSES),
        F("loggedBy", "pointer", "Logged by", required=True, target="User"),
        F("loggedAt", "datetime", "Logged at", required=True),
    ),
)

SPILL_KIT = ClassDef(
    name="SpillKitLog",
    table="spill_kit_log",
    label="Spill kit check",
    plural="Spill kit checks",
    key="objectId",
    description="One inspection of one spill kit.",
    unique_together=(("site", "kitTag", "lastCheckedAt"),),
    fields=(
        F("site", "pointer", "Site", required=True, target="AuditSite"),
        F("kitTag", "string", "Kit tag", required=True, aliases=("kitId",), max_length=64),
        F("kitLocation", "string", "Kit location", max_length=160),
        F("lastCheckedAt", "datetime", "Checked at", required=True,
          aliases=("inspectionDate",)),
        F("inspectionStatus", "enum", "Inspection result", required=True,
          choices=INSPECTION_STATUSES),
        F("sealStatus", "enum", "Seal", required=True, choices=SEAL_STATUSES),
        F("missingItems", "string_list", "Missing items", suggestions=SPILL_KIT_CHECKLIST),
        F("replenishmentNeeded", "bool", "Replenishment needed", derived=True,
          help="true whenever items are missing or the seal is not intact"),
        F("checkedBy", "pointer", "Checked by", required=True, target="User"),
        F("notes", "text", "Notes"),
    ),
)

LEGAL = ClassDef(
    name="LegalRegisterEntry",
    table="legal_register_entry",
    label="Legal register entry",
    plural="Legal register",
    key="referenceCode",
    iso_clause="6.1.3, 9.1.2",
    aliases=("LegalRegister",),
    description="A compliance obligation and the evaluation of compliance with it.",
    fields=(
        F("site", "pointer", "Site", required=True, target="AuditSite"),
        F("referenceCode", "string", "Reference", required=True, max_length=64),
        F("requirementTitle", "string", "Requirement", required=True, max_length=240),
        F("requirementType", "enum", "Type", required=True, choices=REQUIREMENT_TYPES),
        F("jurisdiction", "string", "Jurisdiction", required=True, max_length=120),
        F("reviewFrequency", "enum", "Review frequency", required=True,
          choices=REVIEW_FREQUENCIES),
        F("dueDate", "date", "Next evaluation due", required=True),
        F("lastEvaluatedAt", "date", "Last evaluated"),
        F("complianceStatus", "enum", "Compliance", required=True,
          choices=COMPLIANCE_STATUSES),
        F("owner", "pointer", "Owner", required=True, target="User"),
        F("evidenceNote", "text", "Evidence"),
    ),
)

REVIEW = ClassDef(
    name="AuditReview",
    table="audit_review",
    label="Audit review",
    plural="Audit reviews",
    key="objectId",
    iso_clause="9.2",
    description="An internal audit: its scope, criteria, lead auditor and outcome.",
    fields=(
        F("site", "pointer", "Site", required=True, target="AuditSite"),
        F("auditDate", "date", "Audit date", required=True),
        F("scope", "text", "Scope"),
        F("criteria", "text", "Criteria"),
        F("reviewStatus", "enum", "Status", required=True, choices=REVIEW_STATUSES),
        F("summaryNote", "text", "Summary"),
        F("leadAuditor", "pointer", "Lead auditor", required=True, target="User"),
        F("approvedBy", "pointer", "Approved by", target="User", system=True),
        F("approvedAt", "datetime", "Approved at", system=True),
    ),
)

FINDING = ClassDef(
    name="AuditFinding",
    table="audit_finding",
    label="Finding",
    plural="Findings",
    key="objectId",
    iso_clause="10.2",
    description="A nonconformity, observation or opportunity, and its corrective action.",
    fields=(
        F("site", "pointer", "Site", required=True, target="AuditSite"),
        F("review", "pointer", "Review", target="AuditReview"),
        F("logType", "enum", "About", required=True, choices=LOG_TYPES),
        F("sourceId", "string", "Source record", max_length=10,
          help="objectId of the log entry the finding is about"),
        F("severity", "enum", "Severity", required=True, choices=SEVERITIES),
        F("description", "text", "Description", required=True),
        F("correctiveAction", "text", "Corrective action", required=True),
        F("rootCause", "text", "Root cause"),
        F("actionOwner", "pointer", "Action owner", target="User"),
        F("dueDate", "date", "Due date"),
        F("closed", "bool", "Closed", required=True, default=False, system=True),
        F("closedAt", "datetime", "Closed at", system=True),
        F("closedBy", "pointer", "Closed by", target="User", system=True),
        F("verificationNote", "text", "Verification of effectiveness"),
        F("raisedBy", "pointer", "Raised by", target="User", system=True),
    ),
)

EVIDENCE = ClassDef(
    name="Evidence",
    table="evidence",
    label="Photo evidence",
    plural="Photo evidence",
    key="objectId",
    site_field="site",
    description="A photo attached to a record; the file is stored once by its SHA-256.",
    fields=(
        F("site", "pointer", "Site", required=True, target="AuditSite", system=True),
        F("parentClass", "string", "Record class", required=True, max_length=40),
        F("parentId", "string", "Record", required=True, max_length=10),
        F("file", "file", "File", system=True),
        F("fileName", "string", "File name", required=True, max_length=255),
        F("mimeType", "enum", "Type", required=True, choices=MIME_TYPES, system=True),
        F("sha256", "string", "SHA-256", required=True, max_length=64, system=True),
        F("byteSize", "int", "Size (bytes)", system=True),
        F("caption", "text", "Caption"),
        F("takenAt", "datetime", "Taken at"),
        F("addedBy", "pointer", "Added by", required=True, target="User", system=True),
    ),
)

TRAIL = ClassDef(
    name="AuditTrailEvent",
    table="audit_trail_event",
    label="Audit trail event",
    plural="Audit trail",
    key="objectId",
    site_field=None,
    append_only=True,
    description="One entry of an append-only, hash-chained, signed journal: one chain per "
                "device and site (\"<device>/<site>\", \"<device>/-\" for no site); chains "
                "recorded before version 6 are per device (chain = device).",
    unique_together=(("chain", "seq"),),
    fields=(
        F("deviceId", "string", "Device", required=True, max_length=32, system=True),
        F("seq", "int", "Sequence", required=True, system=True, help="1, 2, 3 ... per chain"),
        F("at", "datetime", "At", required=True, system=True),
        F("actor", "string", "Actor", max_length=10, system=True,
          help="objectId of the user who acted"),
        F("actorName", "string", "Actor name", max_length=64, system=True),
        F("action", "enum", "Action", required=True, choices=TRAIL_ACTIONS, system=True),
        F("recordClass", "string", "Record class", max_length=40, system=True,
          aliases=("className",)),
        F("recordId", "string", "Record", max_length=10, system=True),
        F("siteId", "string", "Site", max_length=10, system=True),
        F("changes", "object", "Changes", system=True, help="field: [old, new]"),
        F("prevHash", "string", "Previous hash", required=True, max_length=64, system=True),
        F("hash", "string", "Hash", required=True, max_length=64, system=True),
        F("chain", "string", "Chain", required=True, max_length=40, system=True,
          help="<deviceId>/<siteId>, <deviceId>/- for events about no site; a device id "
               "alone for a chain recorded before version 6"),
        F("keyId", "string", "Key", max_length=32, system=True,
          help="the key that signed the event (TrailKey)"),
        F("signature", "string", "Signature", max_length=100, system=True,
          help="Ed25519 signature over the chain head, on the last event a transaction "
               "appended to the chain"),
    ),
    server_fields=(
        F("changesText", "text", "Changes as hashed", system=True,
          help="the exact JSON text of changes that the hash covers"),
    ),
)

# Classes only the server keeps (the laptop has its own tables for them).
TRAIL_KEY = ClassDef(
    name="TrailKey",
    table="trail_key",
    label="Trail key",
    plural="Trail keys",
    key="keyId",
    site_field=None,
    description="A public key that signs audit trail events: one per user and laptop, and "
                "one per laptop for events without an actor. Registered by the server.",
    fields=(
        F("keyId", "string", "Key", required=True, max_length=32),
        F("user", "pointer", "User", target="User"),
        F("deviceId", "string", "Device", required=True, max_length=32),
        F("publicKey", "string", "Public key", required=True, max_length=64),
        F("statement", "text", "Statement", required=True),
        F("certificate", "string", "Certificate", required=True, max_length=100),
        F("registeredAt", "datetime", "Registered at"),
        F("registeredBy", "pointer", "Registered by", target="User"),
        F("revokedAt", "datetime", "Revoked at"),
        F("revokedBy", "pointer", "Revoked by", target="User"),
    ),
)
TRAIL_LEGACY = ClassDef(
    name="TrailLegacyChain",
    table="trail_legacy",
    label="Chain recorded before the upgrade",
    plural="Chains recorded before the upgrade",
    key="chain",
    site_field=None,
    description="What server-setup found when it verified a per-device chain recorded "
                "before version 6.",
    fields=(
        F("chain", "string", "Chain", required=True, max_length=40),
        F("events", "int", "Events", required=True),
        F("headSeq", "int", "Head seq"),
        F("headHash", "string", "Head hash", max_length=64),
        F("verified", "bool", "Verified", required=True),
        F("problem", "text", "Problem"),
        F("verifiedAt", "datetime", "Verified at"),
    ),
)
TRAIL_PASS_KEY = ClassDef(
    name="TrailPassKey",
    table="",
    label="Password key",
    plural="Password keys",
    key="publicKey",
    site_field=None,
    private=True,
    description="The public half of a key derived from a user's password (learnt at their "
                "online sign-in): it proves a key made for them on a shared laptop was made "
                "where they typed their password.",
    fields=(
        F("user", "pointer", "User", required=True, target="User"),
        F("publicKey", "string", "Public key", required=True, max_length=64),
    ),
)
SERVER_CLASSES: tuple[ClassDef, ...] = (TRAIL_KEY, TRAIL_LEGACY, TRAIL_PASS_KEY)

CLASSES: tuple[ClassDef, ...] = (USER, SITE, ASPECT, SPILL_KIT, LEGAL, REVIEW, FINDING, EVIDENCE,
                                 TRAIL)
# Dependency order: a class only points at classes before it (users travel first).
SYNC_ORDER: tuple[str, ...] = tuple(c.name for c in CLASSES)
BY_NAME: dict[str, ClassDef] = {c.name: c for c in CLASSES}
# Log classes a finding, evidence or a user can address by name.
RECORD_CLASSES = ("AuditSite", "AspectImpactLog", "SpillKitLog", "LegalRegisterEntry",
                  "AuditReview", "AuditFinding")
LOG_TYPE_CLASS = {
    "aspect": "AspectImpactLog",
    "spill_kit": "SpillKitLog",
    "legal": "LegalRegisterEntry",
    "review": "AuditReview",
}

# Command-line names for the classes (`desktop-audit export findings x.csv`).
CLI_NAMES: dict[str, str] = {
    "users": "User",
    "sites": "AuditSite",
    "aspects": "AspectImpactLog",
    "spill-kits": "SpillKitLog",
    "legal": "LegalRegisterEntry",
    "reviews": "AuditReview",
    "findings": "AuditFinding",
    "evidence": "Evidence",
    "trail": "AuditTrailEvent",
}


def class_def(name: str) -> ClassDef:
    """Look a class up by its Parse name, a seed alias, or its command-line name."""
    if name in BY_NAME:
        return BY_NAME[name]
    if name in CLI_NAMES:
        return BY_NAME[CLI_NAMES[name]]
    for c in CLASSES:
        if name == c.remote_name or name in c.aliases or name.lower() == c.name.lower():
            return c
    from desktop_audit.errors import ValidationError

    known = ", ".join(CLI_NAMES)
    raise ValidationError("class", f"unknown class {name!r} (known: {known})")
