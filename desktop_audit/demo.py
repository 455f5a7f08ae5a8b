"""Realistic demo data, written through the services (so every rule and the trail hold).

Three sites in different regions, one with a non-ASCII name; a manager, a
coordinator, an auditor and a field-staff user assigned to them; per site and per
unit of scale about 15 aspects, 35 spill kit checks, 12 legal entries, 2 reviews
and 10 findings in every state, plus photos from resources/demo_photos.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from desktop_audit import clock, config, services
from desktop_audit.domain.auth import actor_from_row
from desktop_audit.errors import ValidationError
from desktop_audit.jobs import Control
from desktop_audit.schema import ASPECT, LEGAL, SITE, USER
from desktop_audit.services.unit_of_work import UnitOfWork
from desktop_audit.store import rows

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor
    from desktop_audit.store.db import Database

ADMIN = ("admin", "admin@example.com", "Alex Admin", "admin-demo-2026")
USERS = (  # username, role, email, full name, password (listed in the README)
    ("manager", "manager", "maria.keller@example.com", "Maria Keller", "manager-demo-2026"),
    ("coordinator", "coordinator", "colin.osei@example.com", "Colin Osei", "coordinator-demo-2026"),
    ("auditor", "auditor", "aisha.rahman@example.com", "Aisha Rahman", "auditor-demo-2026"),
    ("fieldstaff", "field_staff", "piotr.nowak@example.com", "Piotr Nowak", "fieldstaff-demo-2026"),
)
SITES = (
    ("PLT-01", "Riverside Chemical Plant", "North West England, UK",
     "Bankside Road, Runcorn; tank farm north of building 4", 12, "Europe/London"),
    ("DEP-02", "Łódź Süd – Werk Žabka", "Łódzkie, Poland",
     "ul. Przemysłowa 12; fuel depot and wash bay", 10, "Europe/Warsaw"),
    ("YRD-03", "Europoort Container Yard", "Zuid-Holland, Netherlands",
     "Quay 7, reefer stacks and workshop", 12, "Europe/Amsterdam"),
)
ASPECTS = (
    ("emissions_to_air", "Boiler flue gas from natural gas firing", "NOx and CO2 emissions to air"),
    ("emissions_to_air", "Solvent vapour from parts-washing bay", "VOC emissions, local air quality"),
    ("releases_to_water", "Yard surface water run-off via interceptor", "Hydrocarbons to the river"),
    ("releases_to_water", "Vehicle wash-bay effluent", "Detergent and silt to foul sewer"),
    ("releases_to_land", "Diesel storage tank and dispensing", "Soil and groundwater contamination"),
    ("releases_to_land", "Drum store for waste oil", "Leaks to unsealed ground"),
    ("raw_materials_and_natural_resources", "Mains water for process cooling",
     "Depletion of local water resources"),
    ("energy_use", "Compressed air system leaks", "Avoidable electricity use and CO2"),
    ("energy_use", "Reefer container power supply", "High electricity demand"),
    ("waste", "General waste from offices and canteen", "Landfill use"),
    ("waste", "Oily rags and absorbents", "Hazardous waste requiring licensed disposal"),
    ("noise_and_vibration", "Night-time straddle carrier movements", "Nuisance to residents"),
    ("biodiversity", "Vegetation clearance at the yard boundary", "Loss of nesting habitat"),
    ("other", "Refrigerant top-ups on chillers", "F-gas release, global warming potential"),
    ("waste", "Spent IBCs from chemical deliveries", "Packaging waste, residue contamination"),
)
CONTROLS = ("Monthly inspection and maintenance log", "Bunded storage at 110% capacity",
            "Interceptor emptied quarterly by licensed contractor", "Leak detection survey",
            "Operator training and toolbox talk", "Permit conditions monitored monthly", None)
KIT_LOCATIONS = ("Tank farm north", "Workshop entrance", "Drum store", "Fuel island",
                 "Loading bay 2", "Wash bay", "Quay edge", "Chemical store")
LEGAL_ENTRIES = (
    ("EPA-1990-S34", "Waste duty of care", "legislation", "annual"),
    ("EPR-2016-PERMIT", "Environmental permit conditions", "permit", "quarterly"),
    ("WRA-1991-S85", "No unauthorised discharge to controlled waters", "legislation", "semiannual"),
    ("FGAS-517-2014", "F-gas leak checks and records", "regulation", "semiannual"),
    ("HWR-2005", "Hazardous waste consignment notes", "regulation", "quarterly"),
    ("OPR-2001", "Oil storage: secondary containment", "regulation", "annual"),
    ("TE-CONSENT-7", "Trade effluent consent limits", "licence", "monthly"),
    ("NOISE-S61", "Construction and night noise consent", "licence", "annual"),
    ("ESOS-2014", "Energy savings opportunity audit", "regulation", "biennial"),
    ("CUST-ISO-CLAUSE", "Customer contract: ISO 14001 certification", "contract", "annual"),
    ("VOL-SBTI", "Voluntary science-based carbon target", "voluntary", "annual"),
    ("PPC-DRAIN-PLAN", "Site drainage plan kept current", "other", "biennial"),
)
JURISDICTION = {"PLT-01": "England and Wales", "DEP-02": "Poland / EU", "YRD-03": "Netherlands / EU"}


def demo_password_table() -> list[tuple[str, str, str]]:
    return [(ADMIN[0], "admin", ADMIN[3])] + [(u[0], u[1], u[4]) for u in USERS]


def _user_id(db: Database, username: str) -> str | None:
    return rows.clash(db, USER, {"username": username}, ("username",), None, nocase=True)


def _ensure_users(db: Database, admin: Actor) -> dict[str, str]:
    ids = {}
    for username, role, email, full, password in USERS:
        oid = _user_id(db, username)
        if oid is None:
            oid = services.create_user(db, admin, username=username, email=email, role=role,
                                       password=password, full_name=full)
        ids[role] = oid
    return ids


def _ensure_sites(db: Database, admin: Actor, users: dict[str, str]) -> list[str]:
    out = []
    for code, name, region, note, threshold, zone in SITES:
        existing = rows.clash(db, SITE, {"siteCode": code}, ("siteCode",), None)
        if existing:
            out.append(existing)
            continue
        out.append(services.create_site(db, admin, siteCode=code, siteName=name, region=region,
                                        locationNote=note, siteOwner=users["manager"],
                                        significanceThreshold=threshold, timeZone=zone))
    for role in ("coordinator", "auditor", "field_staff"):
        user = rows.must_load(db, USER, users[role])
        wanted = list(dict.fromkeys([*user["sites"], *out]))
        if wanted != user["sites"]:
            services.assign_sites(db, admin, users[role], wanted)
    return out


def _photos() -> list[Any]:
    folder = config.asset_path("demo_photos")
    return sorted(folder.glob("*.jpg")) + sorted(folder.glob("*.png"))


def _unique_reference(db: Database, site: str, value: str) -> str:
    candidate, n = value, 1
    while rows.clash(db, LEGAL, {"site": site, "referenceCode": candidate},
                     ("site", "referenceCode"), None):
        n += 1
        candidate = f"{value}-{n}"
    return candidate


def populate(db: Database, admin: Actor, *, scale: int = 1,
             control: Control | None = None) -> dict[str, int]:
    """Add the demo data beside what the database holds; returns counts per class."""
    if scale < 1 or scale > 1000:
        raise ValidationError("--scale", "must be between 1 and 1000")
    counts: dict[str, int] = {}
    with db.atomic():
        users = _ensure_users(db, admin)
        site_ids = _ensure_sites(db, admin, users)
    admin = actor_from_row(rows.must_load(db, USER, admin.id), admin.signer)
    existing = rows.count(db, ASPECT)
    rnd = random.Random(1000 + existing)
    photos = _photos()
    for index, site_id in enumerate(site_ids):
        site = rows.must_load(db, SITE, site_id)
        if control is not None:
            control.check("demo data cancelled; the sites done so far are kept")
            control.progress(index, len(site_ids), f"site {site['siteCode']}")
        with db.atomic():
            u = UnitOfWork(db, admin, deferred=True)
            made = _site_records(u, users, site, scale, rnd)
            u.flush()
            _findings(u, users, site, scale, rnd, made)
            u.flush()
        with db.atomic():
            u = UnitOfWork(db, admin, deferred=True)
            _close_some(u, made)
            u.flush()
        for key, value in made.items():
            if key != "closing":
                counts[key] = counts.get(key, 0) + len(value)
        _attach_photos(db, admin, site, made, photos, index)
    return counts


def _when(rnd: random.Random, days_back: int) -> datetime:
    now = clock.now()
    moment = (now - timedelta(days=days_back)).replace(
        hour=rnd.randint(7, 16), minute=rnd.randint(0, 59), second=rnd.randint(0, 59),
        microsecond=0)
    if moment > now - timedelta(minutes=1):  # never an inspection in the future
        moment = now - timedelta(minutes=rnd.randint(5, 300), seconds=rnd.randint(0, 59))
    return moment


def _site_records(u: UnitOfWork, users: dict[str, str], site: dict[str, Any],
                  scale: int, rnd: random.Random) -> dict[str, list[str]]:
    db, admin = u.db, u.actor
    assert admin is not None
    sid, code = site["objectId"], site["siteCode"]
    made: dict[str, list[str]] = {"aspects": [], "kits": [], "legal": [], "reviews": [],
                                  "findings": [], "closing": []}
    for rep in range(scale):
        for i, (cat, desc, impact) in enumerate(ASPECTS):
            lik, sev = rnd.randint(1, 5), rnd.randint(1, 5)
            status = rnd.choice(("open", "in_progress", "controlled", "controlled", "closed"))
            made["aspects"].append(services.add_aspect(
                db, admin, uow=u, site=sid, aspectCategory=cat,
                aspectDescription=desc if rep == 0 else f"{desc} (area {rep + 1})",
                impact=impact, likelihood=lik, severity=sev,
                operatingCondition=("normal", "normal", "abnormal", "emergency")[i % 4],
                lifeCycleStage=rnd.choice(("operation", "maintenance", "delivery", "disposal")),
                controlMeasure=rnd.choice(CONTROLS), actionStatus=status,
                loggedBy=users["auditor"] if i % 2 else users["coordinator"],
                loggedAt=_when(rnd, rnd.randint(1, 300))))
        for k in range(7):
            tag = f"SK-{rep * 7 + k + 1:02d}"
            location = KIT_LOCATIONS[(k + rep) % len(KIT_LOCATIONS)]
            for month in range(5):
                latest = month == 4
                roll = rnd.random()
                if latest and k in (1, 4):
                    status, seal, missing = "fail", "broken", ["absorbent pads", "gloves"]
                elif latest and k == 2:
                    status, seal, missing = "needs_attention", "intact", ["disposal bags"]
                elif roll < 0.15:
                    status, seal, missing = "needs_attention", "intact", ["goggles"]
                else:
                    status, seal, missing = "pass", "intact", []
                when = _when(rnd, (4 - month) * 30 + rnd.randint(1, 5))
                made["kits"].append(services.add_spill_kit_check(
                    db, admin, uow=u, site=sid, kitTag=tag, kitLocation=location, lastCheckedAt=when,
                    inspectionStatus=status, sealStatus=seal, missingItems=missing,
                    checkedBy=users["field_staff"],
                    notes="Seal tag number recorded" if status == "pass" else
                    "Reported to the shift supervisor"))
        today = clock.today(site.get("timeZone"))
        for i, (ref, title, rtype, freq) in enumerate(LEGAL_ENTRIES):
            ref = _unique_reference(db, sid, ref if rep == 0 else f"{ref}/{rep + 1}")
            overdue = i in (2, 7)
            due = today - timedelta(days=20 + i) if overdue else today + timedelta(days=15 + 20 * i)
            status = ("non_compliant" if i in (3, 9) else "partially_compliant" if i == 5
                      else "not_assessed" if i == 11 else "compliant")
            last = None if status == "not_assessed" else (today - timedelta(days=60 + i)).isoformat()
            made["legal"].append(services.add_legal_entry(
                db, admin, uow=u, site=sid, referenceCode=ref, requirementTitle=title,
                requirementType=rtype, jurisdiction=JURISDICTION.get(code, site["region"]),
                reviewFrequency=freq, dueDate=due.isoformat(), lastEvaluatedAt=last,
                complianceStatus=status, owner=users["coordinator"],
                evidenceNote="Checked against permit file and contractor records"))
        made["reviews"].append(services.plan_review(
            db, admin, uow=u, site=sid, auditDate=(today - timedelta(days=40 + rep)).isoformat(),
            scope="Environmental aspects, spill response and legal compliance",
            criteria="ISO 14001:2015 clauses 6.1, 8.2, 9.1.2; site permit",
            reviewStatus="completed", leadAuditor=users["auditor"],
            summaryNote="Two minor nonconformities, one observation."))
        made["reviews"].append(services.plan_review(
            db, admin, uow=u, site=sid, auditDate=(today + timedelta(days=30 + rep)).isoformat(),
            scope="Waste management and contractor control", criteria="ISO 14001:2015 8.1, 9.2",
            reviewStatus="planned", leadAuditor=users["auditor"]))
    return made


def _findings(u: UnitOfWork, users: dict[str, str], site: dict[str, Any],
              scale: int, rnd: random.Random, made: dict[str, list[str]]) -> None:
    db, admin = u.db, u.actor
    assert admin is not None
    sid = site["objectId"]
    today = clock.today(site.get("timeZone"))
    aspects, kits, legal, reviews = made["aspects"], made["kits"], made["legal"], made["reviews"]
    for rep in range(scale):
        a = aspects[rep * 15:(rep + 1) * 15]
        k = kits[rep * 35:(rep + 1) * 35]
        lg = legal[rep * 12:(rep + 1) * 12]
        rv = reviews[rep * 2]

        def due(days: int) -> str:
            return (today + timedelta(days=days)).isoformat()

        specs: list[tuple[dict[str, Any], bool]] = [
            (dict(logType="aspect", sourceId=a[0], severity="minor_nc",
                  description="Interceptor inspection records incomplete for two months",
                  correctiveAction="Add interceptor check to the monthly round; retrain operators",
                  rootCause="Inspection not on the maintenance schedule",
                  actionOwner=users["coordinator"], dueDate=due(-10),
                  verificationNote="Three consecutive monthly records seen complete"), True),
            (dict(logType="spill_kit", sourceId=k[2], severity="observation",
                  description="Spill kit seal tag number not recorded",
                  correctiveAction="Record the seal tag number at each check",
                  actionOwner=users["field_staff"], dueDate=due(20),
                  verificationNote="Checked at the next monthly inspection"), True),
            (dict(logType="legal", sourceId=lg[0], severity="minor_nc",
                  description="Waste transfer notes for skip collections not retained",
                  correctiveAction="Obtain copies from the contractor; file monthly",
                  rootCause="Responsibility not assigned after staff change",
                  actionOwner=users["coordinator"], dueDate=due(-40),
                  verificationNote="Notes for the last 12 months on file"), True),
            (dict(logType="legal", sourceId=lg[3], severity="major_nc",
                  description="F-gas leak checks overdue on two chillers",
                  correctiveAction="Book certified technician; add checks to the planner",
                  actionOwner=users["coordinator"], dueDate=due(-5)), False),
            (dict(logType="spill_kit", sourceId=k[1 * 5 + 4], severity="minor_nc",
                  description="Spill kit at workshop entrance missing pads and gloves, seal broken",
                  correctiveAction="Replenish and reseal; check after every use",
                  rootCause="Kit used during a minor leak and not restocked",
                  actionOwner=users["field_staff"], dueDate=due(7)), False),
            (dict(logType="aspect", sourceId=a[7], severity="opportunity",
                  description="Compressed air leaks audible in workshop",
                  correctiveAction="Run an ultrasonic leak survey and fix the worst leaks",
                  actionOwner=users["auditor"], dueDate=due(45)), False),
            (dict(logType="review", sourceId=rv, review=rv, severity="minor_nc",
                  description="Internal audit programme does not cover contractors",
                  correctiveAction="Add contractor control to the audit programme",
                  rootCause="Programme copied from a site without contractors"), False),
            (dict(logType="general", severity="observation",
                  description="Bund drain valve found open after rain",
                  correctiveAction="Brief shift teams; padlock the valve closed",
                  dueDate=due(-2)), False),
            (dict(logType="general", severity="opportunity",
                  description="Canteen waste could be segregated for composting",
                  correctiveAction="Trial food waste bins for three months",
                  actionOwner=users["coordinator"], dueDate=due(60)), False),
            (dict(logType="aspect", sourceId=a[4], severity="major_nc",
                  description="Diesel tank bund has a crack; capacity below 110%",
                  correctiveAction="Repair bund and test; temporary drip trays meanwhile",
                  rootCause="No structural inspection of bunds",
                  actionOwner=users["auditor"], dueDate=due(-20),
                  verificationNote="Repair seen; hydrostatic test certificate on file"), True),
        ]
        for values, close in specs:
            oid = services.raise_finding(db, admin, uow=u, site=sid, **values)
            made["findings"].append(oid)
            if close:
                made["closing"].append(oid)
                src = values.get("sourceId")
                if values["logType"] == "aspect":
                    services.update_aspect(db, admin, src, uow=u, actionStatus="controlled")
                elif values["logType"] == "legal":
                    entry = u.get("LegalRegisterEntry", src) or {}
                    if entry["complianceStatus"] == "non_compliant" or entry["dueDate"] < str(today):
                        services.update_legal_entry(db, admin, src, uow=u,
                                                    complianceStatus="compliant",
                                                    dueDate=due(90))
                elif values["logType"] == "spill_kit":
                    kit = u.get("SpillKitLog", src) or {}
                    services.add_spill_kit_check(
                        db, admin, uow=u, site=sid, kitTag=kit["kitTag"], kitLocation=kit["kitLocation"],
                        lastCheckedAt=_when(rnd, 0) - timedelta(hours=rnd.randint(1, 4)),
                        inspectionStatus="pass", sealStatus="intact", missingItems=[],
                        checkedBy=users["field_staff"], notes="Rechecked after replenishment")


def _close_some(u: UnitOfWork, made: dict[str, list[str]]) -> None:
    assert u.actor is not None
    for oid in made["closing"]:
        services.close_finding(u.db, u.actor, oid, uow=u)
    for rv in made["reviews"][::2]:
        services.approve_review(u.db, u.actor, rv, summaryNote="Approved at the management review",
                                uow=u)


def _attach_photos(db: Database, admin: Actor, site: dict[str, Any],
                   made: dict[str, list[str]], photos: list[Any], index: int) -> None:
    if not photos:
        return
    targets = [("AuditSite", site["objectId"], "Site entrance and signage"),
               ("SpillKitLog", made["kits"][9], "Spill kit with broken seal"),
               ("AspectImpactLog", made["aspects"][4], "Diesel tank bund"),
               ("AuditFinding", made["findings"][4], "Missing absorbent pads"),
               ("AuditFinding", made["findings"][9], "Crack in the bund wall"),
               ("LegalRegisterEntry", made["legal"][1], "Permit notice at the gate")]
    with db.atomic():
        for n, (cls, oid, caption) in enumerate(targets):
            photo = photos[(index * 2 + n) % len(photos)]
            services.add_evidence(db, admin, parentClass=cls, parentId=oid, path=photo,
                                  caption=caption)


def first_run(db: Database) -> Actor:
    """A new database: the admin from the README, then the demo data."""
    from desktop_audit.services import users

    admin = users.bootstrap_admin(db, username=ADMIN[0], email=ADMIN[1], password=ADMIN[3],
                                  full_name=ADMIN[2])
    populate(db, admin)
    return admin
