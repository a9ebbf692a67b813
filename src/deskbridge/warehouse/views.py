"""Views for the usual analyst questions, across every connection, with their descriptions.

Each view is created (or replaced) whenever the warehouse is opened for writing, so it is
present in the analysts' snapshot too. Days and weeks are UTC; weeks start on Monday.
A ticket counts as closed when its canonical status is ``resolved`` or ``closed``; it closed at
its ``resolved_at`` or, when the vendor gives none, at its last update.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class View:
    """One view: its name, what it answers, its columns' meanings in order, and its SQL."""

    name: str
    description: str
    columns: dict[str, str]
    sql: str


CURRENT_TICKETS = View(
    "current_tickets",
    "Live tickets (not deleted at the vendor) with canonical status, priority and people's names.",
    {
        "connection": "Connection name from config.",
        "ticket_id": "tickets.source_id.",
        "number": "Human-facing ticket number.",
        "subject": "Ticket subject.",
        "status_category": "Canonical status: new, open, pending, resolved, closed.",
        "priority_level": "Canonical priority: low, normal, high, urgent.",
        "status": "Vendor status label.",
        "priority": "Vendor priority label.",
        "department": "Department, queue or category label.",
        "requester_id": "people.source_id of the requester.",
        "requester_name": "Requester's name.",
        "assignee_id": "people.source_id of the assigned agent.",
        "assignee_name": "Assigned agent's name.",
        "created_at": "Creation time (UTC).",
        "updated_at": "Vendor's last update time (UTC).",
        "is_open": "Whether the canonical status is new, open or pending.",
        "closed_at": "When a resolved or closed ticket closed (resolved_at, else its last update); "
        "null while open.",
    },
    """
    SELECT t.connection, t.source_id AS ticket_id, t.number, t.subject, t.status_category,
           t.priority_level, t.status, t.priority, t.department, t.requester_id,
           r.name AS requester_name, t.assignee_id, a.name AS assignee_name, t.created_at,
           t.updated_at, t.status_category IN ('new', 'open', 'pending') AS is_open,
           CASE WHEN t.status_category IN ('resolved', 'closed')
                THEN coalesce(t.resolved_at, t.updated_at) END AS closed_at
    FROM tickets t
    LEFT JOIN people r ON r.connection = t.connection AND r.source_id = t.requester_id
    LEFT JOIN people a ON a.connection = t.connection AND a.source_id = t.assignee_id
    WHERE t.deleted_at IS NULL
    """,
)

BACKLOG_DAILY = View(
    "backlog_daily",
    "Open backlog at the end of each UTC day, per connection, from the first ticket to today; "
    "built from current ticket state (a reopened ticket counts as open since it was created).",
    {
        "connection": "Connection name from config.",
        "day": "UTC day.",
        "opened": "Live tickets created that day.",
        "closed": "Live tickets that closed that day and are still closed.",
        "open_tickets": "Tickets open at the end of the day.",
    },
    """
    WITH t AS (
        SELECT connection, timezone('UTC', created_at)::DATE AS opened_on,
               timezone('UTC', closed_at)::DATE AS closed_on
        FROM current_tickets WHERE created_at IS NOT NULL),
    days AS (
        SELECT connection, unnest(generate_series(min(opened_on),
               greatest(max(opened_on), max(closed_on), timezone('UTC', now())::DATE),
               INTERVAL 1 DAY))::DATE AS day
        FROM t GROUP BY connection),
    opened AS (SELECT connection, opened_on AS day, count(*) AS n FROM t GROUP BY ALL),
    closed AS (SELECT connection, closed_on AS day, count(*) AS n FROM t
               WHERE closed_on IS NOT NULL GROUP BY ALL)
    SELECT d.connection, d.day, coalesce(o.n, 0) AS opened, coalesce(c.n, 0) AS closed,
           sum(coalesce(o.n, 0) - coalesce(c.n, 0)) OVER (
               PARTITION BY d.connection ORDER BY d.day)::BIGINT AS open_tickets
    FROM days d
    LEFT JOIN opened o ON o.connection = d.connection AND o.day = d.day
    LEFT JOIN closed c ON c.connection = d.connection AND c.day = d.day
    """,
)

TICKET_RESPONSE_TIMES = View(
    "ticket_response_times",
    "First-response and resolution time of every live ticket. The first response is the first "
    "public staff reply written after the ticket was created.",
    {
        "connection": "Connection name from config.",
        "ticket_id": "tickets.source_id.",
        "created_at": "Creation time (UTC).",
        "first_response_at": "Time of the first public staff reply (UTC); null if none yet.",
        "first_response_s": "Seconds from creation to the first response.",
        "closed_at": "When the ticket closed (UTC); null while open.",
        "resolution_s": "Seconds from creation to closing.",
    },
    """
    SELECT t.connection, t.ticket_id, t.created_at, f.first_response_at,
           round(epoch(f.first_response_at - t.created_at))::BIGINT AS first_response_s,
           t.closed_at, round(epoch(t.closed_at - t.created_at))::BIGINT AS resolution_s
    FROM current_tickets t
    LEFT JOIN (
        SELECT n.connection, n.ticket_id, min(n.created_at) AS first_response_at
        FROM notes n JOIN tickets k ON k.connection = n.connection AND k.source_id = n.ticket_id
        WHERE n.deleted_at IS NULL AND n.kind = 'reply' AND n.visibility = 'public'
          AND n.author_kind = 'staff' AND n.created_at > k.created_at
        GROUP BY ALL
    ) f ON f.connection = t.connection AND f.ticket_id = t.ticket_id
    """,
)

AGENT_HOURS_WEEKLY = View(
    "agent_hours_weekly",
    "Hours worked and billable per agent per UTC week (Monday), from live time entries.",
    {
        "connection": "Connection name from config.",
        "week": "Monday of the UTC week the work was done (work time, else bill time).",
        "agent_id": "people.source_id of the worker.",
        "agent_name": "Worker's name (from people, else as logged).",
        "entries": "Time entries.",
        "hours_worked": "Hours worked.",
        "hours_billable": "Hours billable.",
    },
    """
    SELECT e.connection,
           date_trunc('week', timezone('UTC', coalesce(e.work_time, e.bill_time)))::DATE AS week,
           e.worker_id AS agent_id, coalesce(p.name, e.worker_name) AS agent_name,
           count(*) AS entries, coalesce(sum(e.seconds_worked), 0) / 3600 AS hours_worked,
           coalesce(sum(e.seconds_billable), 0) / 3600 AS hours_billable
    FROM time_entries e
    LEFT JOIN people p ON p.connection = e.connection AND p.source_id = e.worker_id
    WHERE e.deleted_at IS NULL
    GROUP BY ALL
    """,
)

NOTES_PER_TICKET = View(
    "notes_per_ticket",
    "Replies and internal notes per live ticket (zero for tickets without any).",
    {
        "connection": "Connection name from config.",
        "ticket_id": "tickets.source_id.",
        "subject": "Ticket subject.",
        "replies": "Live replies (kind = reply).",
        "staff_replies": "Replies written by staff.",
        "requester_replies": "Replies written by the requester side.",
        "internal_notes": "Live internal notes (kind = note).",
        "last_note_at": "Time of the latest reply or note (UTC).",
    },
    """
    SELECT t.connection, t.ticket_id, t.subject,
           count(n.source_id) FILTER (WHERE n.kind = 'reply') AS replies,
           count(n.source_id) FILTER (WHERE n.kind = 'reply' AND n.author_kind = 'staff')
               AS staff_replies,
           count(n.source_id) FILTER (WHERE n.kind = 'reply' AND n.author_kind = 'requester')
               AS requester_replies,
           count(n.source_id) FILTER (WHERE n.kind = 'note') AS internal_notes,
           max(n.created_at) AS last_note_at
    FROM current_tickets t
    LEFT JOIN notes n ON n.connection = t.connection AND n.ticket_id = t.ticket_id
                     AND n.deleted_at IS NULL
    GROUP BY t.connection, t.ticket_id, t.subject
    """,
)

SYNC_FRESHNESS = View(
    "sync_freshness",
    "Per connection: its last run, its last success and how stale the data is now.",
    {
        "connection": "Connection name from config.",
        "last_run_id": "sync_runs.run_id of the latest run.",
        "last_status": "Status of the latest run: running, success, failed, interrupted.",
        "last_started_at": "Start of the latest run (UTC).",
        "last_success_at": "End of the latest successful run (UTC).",
        "lag_s": "Seconds since the latest successful run ended.",
        "consecutive_failures": "Failed or interrupted runs since the latest success.",
        "backoff_until": "While failing under `deskbridge serve`: no run before this time (UTC).",
    },
    """
    WITH ok AS (
        SELECT connection, max(run_id) AS run_id, arg_max(ended_at, run_id) AS ended_at
        FROM sync_runs WHERE status = 'success' GROUP BY connection),
    last AS (
        SELECT connection, arg_max(run_id, run_id) AS run_id, arg_max(status, run_id) AS status,
               arg_max(started_at, run_id) AS started_at
        FROM sync_runs GROUP BY connection)
    SELECT l.connection, l.run_id AS last_run_id, l.status AS last_status,
           l.started_at AS last_started_at, ok.ended_at AS last_success_at,
           epoch(now() - ok.ended_at) AS lag_s,
           (SELECT count(*) FROM sync_runs f WHERE f.connection = l.connection
              AND f.status IN ('failed', 'interrupted') AND f.run_id > coalesce(ok.run_id, 0))
               AS consecutive_failures,
           s.backoff_until
    FROM last l
    LEFT JOIN ok ON ok.connection = l.connection
    LEFT JOIN service_state s ON s.connection = l.connection
    """,
)

# In creation order: later views read earlier ones.
VIEWS: tuple[View, ...] = (
    CURRENT_TICKETS,
    BACKLOG_DAILY,
    TICKET_RESPONSE_TIMES,
    AGENT_HOURS_WEEKLY,
    NOTES_PER_TICKET,
    SYNC_FRESHNESS,
)
