"""Track-It! field tables and lookup vocabularies (sequence numbers are the stable keys)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# (sequence, default display name, updatable by POST /tickets/{id}) from the Ticket Web APIs.
TICKET_FIELDS: tuple[tuple[int, str, bool], ...] = (
    (1, "Ticket ID", False),
    (2, "Last Modified", False),
    (3, "Last User", False),
    (4, "Seq_Group", True),
    (7, "Additional Information", True),
    (8, "Seq_Requestor", True),
    (10, "Seq_Assigned To", True),
    (11, "Seq_Category", True),
    (12, "Open Date & Time", False),
    (14, "Seq_Location", True),
    (15, "Seq_Department", True),
    (16, "Seq_Open By", False),
    (17, "Seq_Closed By", False),
    (18, "Close Date & Time", False),
    (19, "Callback Number", True),
    (20, "Call Counter", True),
    (22, "Ticket Summary", True),
    (28, "Alternate Email ID", True),
    (34, "Assigned To Group", True),
    (36, "Requestor ID", True),
    (37, "Requestor First Name", True),
    (38, "Requestor Last Name", True),
    (39, "Requestor Phone", True),
    (40, "Requestor Ext.", True),
    (43, "Requestor Title", True),
    (48, "Closed By Technician", False),
    (49, "Location", True),
    (53, "Location Main Contact", False),
    (65, "Department", True),
    (66, "Opened By Technician", False),
    (67, "Assigned To Technician", True),
    (68, "Assigned To First Name", True),
    (69, "Assigned To Last Name", True),
    (70, "Assigned To Phone", True),
    (71, "Assigned To Extension", True),
    (72, "Category", True),
    (75, "Seq_SLA", True),
    (81, "Custom Date 1", True),
    (82, "Custom Date 2", True),
    (83, "Custom Integer 1", True),
    (84, "Custom Numeric 1", True),
    (85, "Custom Text 1", True),
    (86, "Custom Text 2", True),
    (87, "Custom Text 3", True),
    (88, "Custom Text 4", True),
    (89, "Custom Text 5", True),
    (90, "Custom Text 6", True),
    (91, "SLA", True),
    (92, "SLA Description", True),
    (95, "Seq_Status", True),
    (96, "Status", True),
    (97, "Status Description", True),
    (100, "Expected Due Date & Time", True),
    (102, "Inactive", True),
    (103, "Clock Stop Time", False),
    (106, "Seq_Priority", True),
    (107, "Priority", True),
    (108, "Duration", False),
    (109, "First Call Resolution", True),
    (110, "Expected Response Date & Time", True),
    (111, "Expected Fix Date & Time", True),
    (114, "Requestor Email Address", True),
    (116, "Custom Look Up 1", True),
    (117, "Custom Look Up 2", True),
    (118, "Custom Look Up 3", True),
    (119, "Custom Look Up 4", True),
    (120, "Custom Look Up 5", True),
    (121, "Custom Look Up 6", True),
    (122, "Custom Look Up 7", True),
    (123, "Custom Look Up 8", True),
    (124, "Opened Group", False),
    (125, "Closed Group", False),
    (127, "Ticket Source", True),
    (128, "Opened By First Name", False),
    (129, "Opened By Last Name", False),
    (130, "Closed By First Name", False),
    (131, "Closed By Last Name", False),
    (132, "Responded Date & Time", False),
    (136, "SLA Milestones Complete", True),
    (141, "Change ID", True),
    (142, "Priority Duration", True),
    (145, "Template", True),
    (146, "Custom Date 3", True),
    (147, "Custom Date 4", True),
    (148, "Hourly Rate", False),
    (149, "Requestor", True),
    (150, "Seq_Responded By", False),
    (151, "Responded By Technician", False),
    (152, "Responded By First Name", False),
    (153, "Responded By Last Name", False),
    (156, "Charge", False),
    (157, "Assigned To Full Name", True),
    (158, "Solution ID", True),
    (159, "Solution Summary", True),
    (160, "Seq_EscalateToTechnician", False),
    (161, "Escalate To Technician", False),
    (162, "Escalate To Technician Email", False),
    (163, "Total Time Spent", False),
    (164, "Category Full Path", False),
    (165, "TI11 WO ID", True),
    (166, "Asset ID", True),
    (167, "BCM Asset ID", True),
    (168, "Asset Name", True),
    (169, "Audit Date", False),
    (170, "Serial Number", False),
    (171, "Escalate To Login ID", False),
    (172, "Change Summary", True),
    (174, "Change Request Status", False),
    (175, "Latest Note Date", False),
    (176, "Change Request Status Type", False),
    (177, "Open By Name", False),
    (178, "Seq_Purchase Order", True),
    (179, "Purchase Order Number", True),
    (180, "Date Ordered", False),
    (181, "Date Required", False),
    (182, "Date Closed", False),
    (183, "Total Cost", False),
    (184, "Purchase Order Status", False),
    (185, "Email Cc", True),
    (186, "Email Bcc", True),
)
TICKET_SEQS = tuple(seq for seq, _, _ in TICKET_FIELDS)
DEFAULT_TICKET_NAMES = {seq: name for seq, name, _ in TICKET_FIELDS}
UPDATABLE = frozenset(seq for seq, _, upd in TICKET_FIELDS if upd)

# Updatable fields that are "virtual fields" of another module: writing any of them links the
# record of that module whose field has the given value (the last one given wins).
VIRTUAL: dict[str, tuple[int, ...]] = {
    "group": (4, 34),
    "requestor": (8, 36, 37, 38, 39, 40, 43, 114, 149),
    "tech": (10, 67, 68, 69, 70, 71, 157),
    "category": (11, 72),
    "location": (14, 49),
    "department": (15, 65),
    "sla": (75, 91, 92),
    "status": (95, 96, 97),
    "priority": (106, 107),
}
VIRTUAL_MODULE = {seq: module for module, seqs in VIRTUAL.items() for seq in seqs}
REQUIRED_LINKS = frozenset({"group", "status", "priority"})

# Value types of the ticket's own (non-virtual) updatable fields; anything else is text.
DATE_SEQS = frozenset({81, 82, 100, 110, 111, 146, 147})
INT_SEQS = frozenset({20, 83, 141, 142, 158, 165, 167, 178})
NUM_SEQS = frozenset({84})
BOOL_SEQS = frozenset({102, 109, 136})

NOTE_FIELDS: dict[int, str] = {
    1: "Sequence",
    2: "Last Modified",
    3: "Last User",
    4: "Seq_Group",
    5: "Note",
    6: "Ticket ID",
    7: "Date",
    8: "Seq_Technician",
    10: "Duration",
    11: "Seq_Activity Code",
    13: "Note Exists",
    14: "System Activity",
    15: "Activity Code",
    16: "Technician Name",
    17: "Inactive",
    24: "Email (To/From)",
    25: "Seq_EmailMgmt",
    26: "Note Type",
    27: "Private",
    28: "Seq_Requestor",
    29: "Requestor Name",
    30: "Activity Code Description",
    31: "Track Time",
    32: "TI11 Note ID",
}
ATTACHMENT_FIELDS = {1: "Sequence", 6: "File Size", 7: "File Name", 14: "URL Link"}
TEMPLATE_FIELDS = {
    1: "Sequence",
    3: "Name",
    4: "Description",
    6: "Template Data",
    10: "Is Used in Self Service",
}
# not documented: emulator choice (the docs show only sequences 1-4 of an assignment).
ASSIGNMENT_FIELDS = {
    1: "Sequence",
    2: "Last Modified",
    3: "Last User",
    4: "Seq_Group",
    6: "Ticket ID",
    8: "Summary",
    10: "Seq_Assigned To",
    12: "Open Date & Time",
    18: "Close Date & Time",
    67: "Assigned To Technician",
    96: "Status",
}

# (seq, name, description, closed type, stops the clock)
STATUSES = (
    (1, "Open", "Open ticket", False, False),
    (2, "Closed", "Closed ticket", True, False),
    (3, "Completed", "Work completed", True, False),
    (4, "Escalated", "Escalated to second level", False, False),
    (5, "Cancelled", "Cancelled by requestor", True, False),
    (6, "Paused", "Waiting on requestor", False, True),
    (7, "Dismissed - No notes", "Dismissed without notes", True, False),
)
OPEN_STATUS, CLOSED_STATUS = 1, 2
# (seq, name, hours until due, hours until first response)
PRIORITIES = (
    (1, "1 - Critical", 4, 1),
    (2, "2 - High", 8, 2),
    (3, "3 - Medium", 24, 4),
    (4, "4 - Low", 72, 8),
    (5, "5 - Planning", 240, 24),
)
DEFAULT_PRIORITY = 3
# (seq, code)
GROUPS = ((2, "HELP DESK"), (3, "DESKTOP SUPPORT"), (4, "NETWORK"), (5, "APPLICATIONS"))
# (seq, name, full path)
CATEGORIES = (
    (1, "Printer", "Hardware\\Printer"),
    (2, "Laptop", "Hardware\\Laptop"),
    (3, "Desktop", "Hardware\\Desktop"),
    (4, "Monitor", "Hardware\\Monitor"),
    (5, "Mobile Device", "Hardware\\Mobile Device"),
    (6, "Applications", "Software\\Applications"),
    (7, "Email", "Software\\Email"),
    (8, "Operating System", "Software\\Operating System"),
    (9, "Antivirus", "Software\\Antivirus"),
    (10, "Connectivity", "Network\\Connectivity"),
    (11, "VPN", "Network\\VPN"),
    (12, "Wireless", "Network\\Wireless"),
    (13, "Password Reset", "Accounts\\Password Reset"),
    (14, "New User", "Accounts\\New User"),
    (15, "Access Request", "Accounts\\Access Request"),
    (16, "Phone", "Facilities\\Phone"),
)
DEPARTMENTS = tuple(
    enumerate(
        (
            "Accounting",
            "Finance",
            "Human Resources",
            "IT",
            "Legal",
            "Marketing",
            "Operations",
            "Sales",
            "Customer Service",
            "Facilities",
        ),
        start=1,
    )
)
# (seq, name, main contact)
LOCATIONS = (
    (1, "Headquarters", "Maria Lopez"),
    (2, "Boston Office", "Daniel Reed"),
    (3, "Chicago Office", "Priya Natarajan"),
    (4, "Denver Warehouse", "Tom Becker"),
    (5, "Remote", "Service Desk"),
)
# (seq, name, description)
SLAS = (
    (1, "Standard", "Business hours support"),
    (2, "Gold", "Extended hours support"),
    (3, "VIP", "Executive support 24x7"),
)
# (seq, code, description, available for tickets)
ACTIVITY_CODES = (
    (1, "Note By Technician", "Note added by technician", True),
    (2, "Additional Information", "Additional information received", True),
    (3, "Completed Work", "Work completed", True),
    (4, "Contacted User", "Contacted the requestor", True),
    (5, "Research", "Research performed", True),
    (6, "Perform Work", "Work performed", True),
    (7, "Install", "Installation", True),
    (8, "Purchase Order Received", "Purchase order items received", False),
    (9, "Asset Audit", "Asset inventory audit", False),
)
NOTE_TYPES = (
    "Technician Note",
    "Ticket Description",
    "Ticket Resolution",
    "Assignment Description",
    "Assignment Resolution",
)
TICKET_SOURCES = ("Phone", "Email", "Self Service", "Walk-In", "Chat")

# not documented: emulator choice (400 reasons; the body shape is {"Message": reason}).
MESSAGES = {
    "invalid_request": "The request is invalid.",
    "properties_required": "Properties are required.",
    "unknown_field": "Invalid field: {0}",
    "read_only": "Field '{0}' cannot be updated.",
    "bad_value": "Invalid value '{1}' for field '{0}'.",
    "required_link": "Field '{0}' is required.",
    "note_type_required": "Note Type is required.",
    "activity_required": "Activity Code is required.",
    "note_required": "Note is required.",
    "bad_note_type": "Invalid Note Type: {0}",
    "bad_activity": "Invalid Activity Code: {0}",
    "activity_not_ticket": "Activity Code '{0}' is not available for tickets.",
    "bad_duration": "Invalid Duration: {0}",
    "bad_private": "Invalid Private: {0}",
    "status_required": "StatusName is required.",
    "bad_status": "Invalid Status: {0}",
}


class WriteError(ValueError):
    """A write broke a business rule; the message is the 400 reason."""

    def __init__(self, key: str, *args: object) -> None:
        super().__init__(MESSAGES[key].format(*args))


def iso(ts: float) -> str:
    """UTC timestamp as Track-It prints it: seven fractional digits and ``Z``."""
    sec, ms = divmod(round(ts * 1000), 1000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(sec))}.{ms:03d}0000Z"


class DisplayNames:
    """The installation's current ticket display names; sequence numbers never change."""

    def __init__(self, overrides: dict[int, str] | None = None) -> None:
        self.by_seq = dict(DEFAULT_TICKET_NAMES)
        self._by_name: dict[str, int] = {}
        for seq, name in (overrides or {}).items():
            self.rename(int(seq), name)
        self._reindex()

    def rename(self, seq: int, new_name: str) -> None:
        """Give field ``seq`` a new display name (names must stay unique)."""
        if seq not in self.by_seq:
            raise KeyError(f"no ticket field with sequence {seq}")
        wanted = new_name.strip().casefold()
        clash = [s for s, n in self.by_seq.items() if s != seq and n.casefold() == wanted]
        if clash:
            raise ValueError(f"display name {new_name!r} is already used by field {clash[0]}")
        self.by_seq[seq] = new_name
        self._reindex()

    def seq_of(self, name: str) -> int | None:
        """Sequence of a display name as a client writes it (trimmed, any case)."""
        return self._by_name.get(name.strip().casefold())

    def _reindex(self) -> None:
        self._by_name = {name.strip().casefold(): seq for seq, name in self.by_seq.items()}


@dataclass(slots=True)
class NoteSpec:
    """A validated NoteDto."""

    text: str
    note_type: str
    activity: int
    duration: int = 0
    private: bool = False


@dataclass
class Changes:
    """Resolved Properties: links to other modules and the ticket's own values."""

    links: dict[str, int | None] = field(default_factory=dict)
    own: dict[int, Any] = field(default_factory=dict)


def parse_note(dto: Any, *, require_text: bool) -> NoteSpec | None:
    """Validate a NoteDto; None when it creates no note (no text and no duration)."""
    if not isinstance(dto, dict):
        if dto is None and not require_text:
            return None
        raise WriteError("invalid_request")
    text = dto.get("Note") or ""
    duration = _duration(dto.get("Duration"))
    if not text and not duration:
        if require_text:
            raise WriteError("note_required")
        if not dto:
            return None
    note_type, code = dto.get("Note Type"), dto.get("Activity Code")
    if not note_type:
        raise WriteError("note_type_required")
    if not code:
        raise WriteError("activity_required")
    if note_type not in NOTE_TYPES:
        raise WriteError("bad_note_type", note_type)
    activity = next((a for a in ACTIVITY_CODES if a[1].casefold() == str(code).casefold()), None)
    if activity is None:
        raise WriteError("bad_activity", code)
    if not activity[3]:
        raise WriteError("activity_not_ticket", activity[1])
    if not text and not duration:
        return None
    return NoteSpec(str(text), note_type, activity[0], duration, _private(dto.get("Private")))


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def own_value(seq: int, name: str, value: Any) -> Any:
    """Check and convert a value for one of the ticket's own fields."""
    if value is None:
        return None
    if seq in INT_SEQS:
        out: Any = as_int(value)
    elif seq in NUM_SEQS:
        try:
            out = None if isinstance(value, bool) else float(value)
        except (TypeError, ValueError):
            out = None
    elif seq in BOOL_SEQS:
        out = _bool(value)
    elif seq in DATE_SEQS:
        out = _date(value)
    else:
        out = None if isinstance(value, (dict, list)) else str(value)
    if out is None:
        raise WriteError("bad_value", name, value)
    return out


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _date(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return round(parsed.timestamp(), 3)


def _duration(value: Any) -> int:
    """``HH:MM`` or ``HH:MM:SS`` (both seen in clients) as seconds; empty means 0."""
    if value is None or value == "":
        return 0
    parts = str(value).strip().split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise WriteError("bad_duration", value)
    nums = [int(p) for p in parts] + [0] * (3 - len(parts))
    if nums[1] > 59 or nums[2] > 59:
        raise WriteError("bad_duration", value)
    return nums[0] * 3600 + nums[1] * 60 + nums[2]


def _private(value: Any) -> bool:
    if value is None:
        return False
    out = _bool(value)
    if out is None:
        raise WriteError("bad_private", value)
    return out
