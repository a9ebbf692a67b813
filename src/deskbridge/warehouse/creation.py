"""What a new warehouse runs to reach the current schema: tables, views, descriptions.

Generated from the SQLModel declarations by ``python -m deskbridge.warehouse.schema``; do not
edit. ``tests/test_schema_columns.py`` fails when it drifts from them, or when a warehouse
created from it differs from one the migration creates. A first run reads it instead of
importing SQLModel.
"""

SCRIPT = r"""
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE SEQUENCE IF NOT EXISTS sync_run_ids START 1;
CREATE TABLE IF NOT EXISTS tickets (
    connection VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL,
    raw JSON,
    content_hash VARCHAR,
    raw_digest BIGINT,
    first_seen_at TIMESTAMPTZ,
    last_synced_at TIMESTAMPTZ,
    deleted_at TIMESTAMPTZ,
    deleted_proof VARCHAR,
    run_id BIGINT,
    number VARCHAR,
    subject VARCHAR,
    status VARCHAR,
    status_category VARCHAR,
    priority VARCHAR,
    priority_level VARCHAR,
    type VARCHAR,
    department VARCHAR,
    requester_id VARCHAR,
    assignee_id VARCHAR,
    created_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ,
    resolved_at TIMESTAMPTZ,
    due_at TIMESTAMPTZ,
    tags VARCHAR,
    PRIMARY KEY (connection, source_id)
);
CREATE TABLE IF NOT EXISTS notes (
    connection VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL,
    raw JSON,
    content_hash VARCHAR,
    raw_digest BIGINT,
    first_seen_at TIMESTAMPTZ,
    last_synced_at TIMESTAMPTZ,
    deleted_at TIMESTAMPTZ,
    deleted_proof VARCHAR,
    run_id BIGINT,
    ticket_id VARCHAR,
    kind VARCHAR,
    visibility VARCHAR,
    author_id VARCHAR,
    author_name VARCHAR,
    author_kind VARCHAR,
    body VARCHAR,
    is_html BOOLEAN,
    created_at TIMESTAMPTZ,
    PRIMARY KEY (connection, source_id)
);
CREATE TABLE IF NOT EXISTS time_entries (
    connection VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL,
    raw JSON,
    content_hash VARCHAR,
    raw_digest BIGINT,
    first_seen_at TIMESTAMPTZ,
    last_synced_at TIMESTAMPTZ,
    deleted_at TIMESTAMPTZ,
    deleted_proof VARCHAR,
    run_id BIGINT,
    ticket_id VARCHAR,
    worker_id VARCHAR,
    worker_name VARCHAR,
    seconds_worked BIGINT,
    seconds_billable BIGINT,
    work_time TIMESTAMPTZ,
    bill_time TIMESTAMPTZ,
    note VARCHAR,
    created_by_id VARCHAR,
    PRIMARY KEY (connection, source_id)
);
CREATE TABLE IF NOT EXISTS people (
    connection VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL,
    raw JSON,
    content_hash VARCHAR,
    raw_digest BIGINT,
    first_seen_at TIMESTAMPTZ,
    last_synced_at TIMESTAMPTZ,
    deleted_at TIMESTAMPTZ,
    deleted_proof VARCHAR,
    run_id BIGINT,
    kind VARCHAR,
    name VARCHAR,
    email VARCHAR,
    organization VARCHAR,
    is_active BOOLEAN,
    PRIMARY KEY (connection, source_id)
);
CREATE TABLE IF NOT EXISTS attachments (
    connection VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL,
    raw JSON,
    content_hash VARCHAR,
    raw_digest BIGINT,
    first_seen_at TIMESTAMPTZ,
    last_synced_at TIMESTAMPTZ,
    deleted_at TIMESTAMPTZ,
    deleted_proof VARCHAR,
    run_id BIGINT,
    ticket_id VARCHAR,
    note_id VARCHAR,
    filename VARCHAR,
    size_bytes BIGINT,
    content_type VARCHAR,
    created_at TIMESTAMPTZ,
    PRIMARY KEY (connection, source_id)
);
CREATE TABLE IF NOT EXISTS ticket_fields (
    connection VARCHAR NOT NULL,
    ticket_id VARCHAR NOT NULL,
    field_key VARCHAR NOT NULL,
    field_id VARCHAR,
    label VARCHAR,
    type VARCHAR,
    value_text VARCHAR,
    value_number DOUBLE,
    value_time TIMESTAMPTZ,
    value_bool BOOLEAN,
    value_json JSON,
    last_synced_at TIMESTAMPTZ,
    deleted_at TIMESTAMPTZ,
    run_id BIGINT,
    PRIMARY KEY (connection, ticket_id, field_key)
);
CREATE TABLE IF NOT EXISTS fields (
    connection VARCHAR NOT NULL,
    field_key VARCHAR NOT NULL,
    field_id VARCHAR,
    label VARCHAR,
    type VARCHAR,
    writable BOOLEAN,
    choices JSON,
    source VARCHAR,
    last_synced_at TIMESTAMPTZ,
    deleted_at TIMESTAMPTZ,
    PRIMARY KEY (connection, field_key)
);
CREATE TABLE IF NOT EXISTS ticket_history (
    connection VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    seen_at TIMESTAMPTZ NOT NULL,
    run_id BIGINT,
    subject VARCHAR,
    status VARCHAR,
    status_category VARCHAR,
    priority VARCHAR,
    assignee_id VARCHAR,
    updated_at TIMESTAMPTZ,
    PRIMARY KEY (connection, source_id, content_hash, seen_at)
);
CREATE TABLE IF NOT EXISTS sync_runs (
    run_id BIGINT NOT NULL DEFAULT nextval('sync_run_ids'),
    connection VARCHAR,
    started_at TIMESTAMPTZ,
    ended_at TIMESTAMPTZ,
    status VARCHAR,
    full_refresh BOOLEAN,
    counts JSON,
    requests BIGINT,
    reconcile_requests BIGINT,
    error VARCHAR,
    worker VARCHAR,
    snapshot_id BIGINT,
    PRIMARY KEY (run_id)
);
CREATE TABLE IF NOT EXISTS sync_state (
    connection VARCHAR NOT NULL,
    stream VARCHAR NOT NULL,
    state JSON,
    state_version BIGINT,
    updated_at TIMESTAMPTZ,
    PRIMARY KEY (connection, stream)
);
CREATE TABLE IF NOT EXISTS service_state (
    connection VARCHAR NOT NULL,
    next_run_at TIMESTAMPTZ,
    backoff_until TIMESTAMPTZ,
    updated_at TIMESTAMPTZ,
    PRIMARY KEY (connection)
);
CREATE TABLE IF NOT EXISTS suspected_deletions (
    connection VARCHAR NOT NULL,
    entity VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL,
    ticket_id VARCHAR,
    state VARCHAR,
    reason VARCHAR,
    listed_from TIMESTAMPTZ,
    detected_at TIMESTAMPTZ,
    run_id BIGINT,
    PRIMARY KEY (connection, entity, source_id)
);
CREATE TABLE IF NOT EXISTS crosswalk (
    link VARCHAR NOT NULL,
    entity VARCHAR NOT NULL,
    origin VARCHAR NOT NULL,
    origin_id VARCHAR NOT NULL,
    a_id VARCHAR,
    b_id VARCHAR,
    state VARCHAR,
    marker VARCHAR,
    base_a JSON,
    base_b JSON,
    hash_a VARCHAR,
    hash_b VARCHAR,
    pushed_at TIMESTAMPTZ,
    PRIMARY KEY (link, entity, origin, origin_id)
);
CREATE TABLE IF NOT EXISTS push_failures (
    link VARCHAR NOT NULL,
    entity VARCHAR NOT NULL,
    target VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL,
    op VARCHAR,
    reason VARCHAR,
    attempts BIGINT,
    first_failed_at TIMESTAMPTZ,
    last_failed_at TIMESTAMPTZ,
    resolved_at TIMESTAMPTZ,
    PRIMARY KEY (link, entity, target, source_id)
);
CREATE TABLE IF NOT EXISTS push_skips (
    link VARCHAR NOT NULL,
    entity VARCHAR NOT NULL,
    target VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL,
    reason VARCHAR,
    skipped_at TIMESTAMPTZ,
    PRIMARY KEY (link, entity, target, source_id)
);
CREATE TABLE IF NOT EXISTS push_runs (
    push_id BIGINT NOT NULL,
    link VARCHAR,
    started_at TIMESTAMPTZ,
    ended_at TIMESTAMPTZ,
    status VARCHAR,
    dry_run BOOLEAN,
    counts JSON,
    error VARCHAR,
    PRIMARY KEY (push_id)
);
CREATE OR REPLACE VIEW current_tickets AS SELECT t.connection, t.source_id AS ticket_id, t.number, t.subject, t.status_category,
           t.priority_level, t.status, t.priority, t.department, t.requester_id,
           r.name AS requester_name, t.assignee_id, a.name AS assignee_name, t.created_at,
           t.updated_at, t.status_category IN ('new', 'open', 'pending') AS is_open,
           CASE WHEN t.status_category IN ('resolved', 'closed')
                THEN coalesce(t.resolved_at, t.updated_at) END AS closed_at
    FROM tickets t
    LEFT JOIN people r ON r.connection = t.connection AND r.source_id = t.requester_id
    LEFT JOIN people a ON a.connection = t.connection AND a.source_id = t.assignee_id
    WHERE t.deleted_at IS NULL;
COMMENT ON VIEW current_tickets IS 'Live tickets (not deleted at the vendor) with canonical status, priority and people''s names.';
COMMENT ON COLUMN current_tickets.connection IS 'Connection name from config.';
COMMENT ON COLUMN current_tickets.ticket_id IS 'tickets.source_id.';
COMMENT ON COLUMN current_tickets.number IS 'Human-facing ticket number.';
COMMENT ON COLUMN current_tickets.subject IS 'Ticket subject.';
COMMENT ON COLUMN current_tickets.status_category IS 'Canonical status: new, open, pending, resolved, closed.';
COMMENT ON COLUMN current_tickets.priority_level IS 'Canonical priority: low, normal, high, urgent.';
COMMENT ON COLUMN current_tickets.status IS 'Vendor status label.';
COMMENT ON COLUMN current_tickets.priority IS 'Vendor priority label.';
COMMENT ON COLUMN current_tickets.department IS 'Department, queue or category label.';
COMMENT ON COLUMN current_tickets.requester_id IS 'people.source_id of the requester.';
COMMENT ON COLUMN current_tickets.requester_name IS 'Requester''s name.';
COMMENT ON COLUMN current_tickets.assignee_id IS 'people.source_id of the assigned agent.';
COMMENT ON COLUMN current_tickets.assignee_name IS 'Assigned agent''s name.';
COMMENT ON COLUMN current_tickets.created_at IS 'Creation time (UTC).';
COMMENT ON COLUMN current_tickets.updated_at IS 'Vendor''s last update time (UTC).';
COMMENT ON COLUMN current_tickets.is_open IS 'Whether the canonical status is new, open or pending.';
COMMENT ON COLUMN current_tickets.closed_at IS 'When a resolved or closed ticket closed (resolved_at, else its last update); null while open.';
CREATE OR REPLACE VIEW backlog_daily AS WITH t AS (
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
    LEFT JOIN closed c ON c.connection = d.connection AND c.day = d.day;
COMMENT ON VIEW backlog_daily IS 'Open backlog at the end of each UTC day, per connection, from the first ticket to today; built from current ticket state (a reopened ticket counts as open since it was created).';
COMMENT ON COLUMN backlog_daily.connection IS 'Connection name from config.';
COMMENT ON COLUMN backlog_daily.day IS 'UTC day.';
COMMENT ON COLUMN backlog_daily.opened IS 'Live tickets created that day.';
COMMENT ON COLUMN backlog_daily.closed IS 'Live tickets that closed that day and are still closed.';
COMMENT ON COLUMN backlog_daily.open_tickets IS 'Tickets open at the end of the day.';
CREATE OR REPLACE VIEW ticket_response_times AS SELECT t.connection, t.ticket_id, t.created_at, f.first_response_at,
           round(epoch(f.first_response_at - t.created_at))::BIGINT AS first_response_s,
           t.closed_at, round(epoch(t.closed_at - t.created_at))::BIGINT AS resolution_s
    FROM current_tickets t
    LEFT JOIN (
        SELECT n.connection, n.ticket_id, min(n.created_at) AS first_response_at
        FROM notes n JOIN tickets k ON k.connection = n.connection AND k.source_id = n.ticket_id
        WHERE n.deleted_at IS NULL AND n.kind = 'reply' AND n.visibility = 'public'
          AND n.author_kind = 'staff' AND n.created_at > k.created_at
        GROUP BY ALL
    ) f ON f.connection = t.connection AND f.ticket_id = t.ticket_id;
COMMENT ON VIEW ticket_response_times IS 'First-response and resolution time of every live ticket. The first response is the first public staff reply written after the ticket was created.';
COMMENT ON COLUMN ticket_response_times.connection IS 'Connection name from config.';
COMMENT ON COLUMN ticket_response_times.ticket_id IS 'tickets.source_id.';
COMMENT ON COLUMN ticket_response_times.created_at IS 'Creation time (UTC).';
COMMENT ON COLUMN ticket_response_times.first_response_at IS 'Time of the first public staff reply (UTC); null if none yet.';
COMMENT ON COLUMN ticket_response_times.first_response_s IS 'Seconds from creation to the first response.';
COMMENT ON COLUMN ticket_response_times.closed_at IS 'When the ticket closed (UTC); null while open.';
COMMENT ON COLUMN ticket_response_times.resolution_s IS 'Seconds from creation to closing.';
CREATE OR REPLACE VIEW agent_hours_weekly AS SELECT e.connection,
           date_trunc('week', timezone('UTC', coalesce(e.work_time, e.bill_time)))::DATE AS week,
           e.worker_id AS agent_id, coalesce(p.name, e.worker_name) AS agent_name,
           count(*) AS entries, coalesce(sum(e.seconds_worked), 0) / 3600 AS hours_worked,
           coalesce(sum(e.seconds_billable), 0) / 3600 AS hours_billable
    FROM time_entries e
    LEFT JOIN people p ON p.connection = e.connection AND p.source_id = e.worker_id
    WHERE e.deleted_at IS NULL
    GROUP BY ALL;
COMMENT ON VIEW agent_hours_weekly IS 'Hours worked and billable per agent per UTC week (Monday), from live time entries.';
COMMENT ON COLUMN agent_hours_weekly.connection IS 'Connection name from config.';
COMMENT ON COLUMN agent_hours_weekly.week IS 'Monday of the UTC week the work was done (work time, else bill time).';
COMMENT ON COLUMN agent_hours_weekly.agent_id IS 'people.source_id of the worker.';
COMMENT ON COLUMN agent_hours_weekly.agent_name IS 'Worker''s name (from people, else as logged).';
COMMENT ON COLUMN agent_hours_weekly.entries IS 'Time entries.';
COMMENT ON COLUMN agent_hours_weekly.hours_worked IS 'Hours worked.';
COMMENT ON COLUMN agent_hours_weekly.hours_billable IS 'Hours billable.';
CREATE OR REPLACE VIEW notes_per_ticket AS SELECT t.connection, t.ticket_id, t.subject,
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
    GROUP BY t.connection, t.ticket_id, t.subject;
COMMENT ON VIEW notes_per_ticket IS 'Replies and internal notes per live ticket (zero for tickets without any).';
COMMENT ON COLUMN notes_per_ticket.connection IS 'Connection name from config.';
COMMENT ON COLUMN notes_per_ticket.ticket_id IS 'tickets.source_id.';
COMMENT ON COLUMN notes_per_ticket.subject IS 'Ticket subject.';
COMMENT ON COLUMN notes_per_ticket.replies IS 'Live replies (kind = reply).';
COMMENT ON COLUMN notes_per_ticket.staff_replies IS 'Replies written by staff.';
COMMENT ON COLUMN notes_per_ticket.requester_replies IS 'Replies written by the requester side.';
COMMENT ON COLUMN notes_per_ticket.internal_notes IS 'Live internal notes (kind = note).';
COMMENT ON COLUMN notes_per_ticket.last_note_at IS 'Time of the latest reply or note (UTC).';
CREATE OR REPLACE VIEW sync_freshness AS WITH ok AS (
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
    LEFT JOIN service_state s ON s.connection = l.connection;
COMMENT ON VIEW sync_freshness IS 'Per connection: its last run, its last success and how stale the data is now.';
COMMENT ON COLUMN sync_freshness.connection IS 'Connection name from config.';
COMMENT ON COLUMN sync_freshness.last_run_id IS 'sync_runs.run_id of the latest run.';
COMMENT ON COLUMN sync_freshness.last_status IS 'Status of the latest run: running, success, failed, interrupted.';
COMMENT ON COLUMN sync_freshness.last_started_at IS 'Start of the latest run (UTC).';
COMMENT ON COLUMN sync_freshness.last_success_at IS 'End of the latest successful run (UTC).';
COMMENT ON COLUMN sync_freshness.lag_s IS 'Seconds since the latest successful run ended.';
COMMENT ON COLUMN sync_freshness.consecutive_failures IS 'Failed or interrupted runs since the latest success.';
COMMENT ON COLUMN sync_freshness.backoff_until IS 'While failing under `deskbridge serve`: no run before this time (UTC).';
COMMENT ON TABLE tickets IS 'One row per ticket: subject, vendor and canonical status and priority, people, times.';
COMMENT ON TABLE notes IS 'Replies (kind = reply) and internal notes (kind = note) on tickets.';
COMMENT ON TABLE time_entries IS 'Time logged on tickets: seconds worked and billable, worker, work and bill time.';
COMMENT ON TABLE people IS 'Staff and requesters (kind).';
COMMENT ON TABLE attachments IS 'Attachment metadata (not the files).';
COMMENT ON TABLE ticket_fields IS 'One custom (vendor-defined) field value of a ticket, written with its ticket.';
COMMENT ON TABLE fields IS 'The custom ticket fields a connection''s vendor defines: the catalog mappings are checked against.';
COMMENT ON TABLE ticket_history IS 'One row per distinct version of a ticket seen by a sync.';
COMMENT ON TABLE sync_runs IS 'Every sync run: start, end, status, counts, requests, error.';
COMMENT ON TABLE sync_state IS 'Cursor state per connection and stream; where the next run starts.';
COMMENT ON TABLE service_state IS 'Per connection, what `deskbridge serve` plans: the next run, and backoff after failures.';
COMMENT ON TABLE suspected_deletions IS 'A stored row a complete listing lacked, not yet proven gone.';
COMMENT ON TABLE crosswalk IS 'One linked record: its id on each side and the values both sides last agreed on.';
COMMENT ON TABLE push_failures IS 'A write the target refused; retried on every run until it goes through.';
COMMENT ON TABLE push_skips IS 'Something a target cannot hold and the link said to skip, with the reason.';
COMMENT ON TABLE push_runs IS 'Every push (or dry run) of a link.';
COMMENT ON TABLE meta IS 'Warehouse bookkeeping as key/value pairs.';
COMMENT ON COLUMN tickets.connection IS 'Connection name from config.';
COMMENT ON COLUMN tickets.source_id IS 'The vendor''s id for this record.';
COMMENT ON COLUMN tickets.raw IS 'Vendor payload, secrets stripped.';
COMMENT ON COLUMN tickets.content_hash IS 'Hash of the canonical fields; changes when content does.';
COMMENT ON COLUMN tickets.raw_digest IS '63 bits of the md5 of raw: how a sync tells that a payload it reads again is unchanged, without reading the stored one.';
COMMENT ON COLUMN tickets.first_seen_at IS 'When deskbridge first saw the record (UTC).';
COMMENT ON COLUMN tickets.last_synced_at IS 'When a sync last read the record (UTC).';
COMMENT ON COLUMN tickets.deleted_at IS 'When the record was found gone at the vendor.';
COMMENT ON COLUMN tickets.deleted_proof IS 'What proved the deletion: not_found (the vendor answered not found for it), listing (absent from a complete listing), parent (its ticket was answered not found), operator (confirmed with ''deskbridge deletes confirm''), legacy (deleted before deskbridge recorded proofs).';
COMMENT ON COLUMN tickets.run_id IS 'sync_runs.run_id that last changed the row.';
COMMENT ON COLUMN tickets.number IS 'Human-facing ticket number (display id).';
COMMENT ON COLUMN tickets.subject IS 'Ticket subject or title.';
COMMENT ON COLUMN tickets.status IS 'Vendor status label.';
COMMENT ON COLUMN tickets.status_category IS 'Canonical status: new, open, pending, resolved, closed.';
COMMENT ON COLUMN tickets.priority IS 'Vendor priority label.';
COMMENT ON COLUMN tickets.priority_level IS 'Canonical priority: low, normal, high, urgent.';
COMMENT ON COLUMN tickets.type IS 'Vendor ticket type label.';
COMMENT ON COLUMN tickets.department IS 'Department, queue or category label.';
COMMENT ON COLUMN tickets.requester_id IS 'people.source_id of the requester.';
COMMENT ON COLUMN tickets.assignee_id IS 'people.source_id of the assigned agent.';
COMMENT ON COLUMN tickets.created_at IS 'Creation time (UTC).';
COMMENT ON COLUMN tickets.updated_at IS 'Vendor''s last activity or update time (UTC).';
COMMENT ON COLUMN tickets.resolved_at IS 'When the ticket was resolved or closed (UTC).';
COMMENT ON COLUMN tickets.due_at IS 'Due time (UTC).';
COMMENT ON COLUMN tickets.tags IS 'Tags, space separated.';
COMMENT ON COLUMN notes.connection IS 'Connection name from config.';
COMMENT ON COLUMN notes.source_id IS 'The vendor''s id for this record.';
COMMENT ON COLUMN notes.raw IS 'Vendor payload, secrets stripped.';
COMMENT ON COLUMN notes.content_hash IS 'Hash of the canonical fields; changes when content does.';
COMMENT ON COLUMN notes.raw_digest IS '63 bits of the md5 of raw: how a sync tells that a payload it reads again is unchanged, without reading the stored one.';
COMMENT ON COLUMN notes.first_seen_at IS 'When deskbridge first saw the record (UTC).';
COMMENT ON COLUMN notes.last_synced_at IS 'When a sync last read the record (UTC).';
COMMENT ON COLUMN notes.deleted_at IS 'When the record was found gone at the vendor.';
COMMENT ON COLUMN notes.deleted_proof IS 'What proved the deletion: not_found (the vendor answered not found for it), listing (absent from a complete listing), parent (its ticket was answered not found), operator (confirmed with ''deskbridge deletes confirm''), legacy (deleted before deskbridge recorded proofs).';
COMMENT ON COLUMN notes.run_id IS 'sync_runs.run_id that last changed the row.';
COMMENT ON COLUMN notes.ticket_id IS 'tickets.source_id the note belongs to.';
COMMENT ON COLUMN notes.kind IS 'reply (a message on the conversation) or note (internal).';
COMMENT ON COLUMN notes.visibility IS 'public (the requester sees it) or private.';
COMMENT ON COLUMN notes.author_id IS 'people.source_id of the author.';
COMMENT ON COLUMN notes.author_name IS 'Author name as the vendor shows it.';
COMMENT ON COLUMN notes.author_kind IS 'staff or requester.';
COMMENT ON COLUMN notes.body IS 'Text of the note or reply.';
COMMENT ON COLUMN notes.is_html IS 'Whether body is HTML.';
COMMENT ON COLUMN notes.created_at IS 'When it was written (UTC).';
COMMENT ON COLUMN time_entries.connection IS 'Connection name from config.';
COMMENT ON COLUMN time_entries.source_id IS 'The vendor''s id for this record.';
COMMENT ON COLUMN time_entries.raw IS 'Vendor payload, secrets stripped.';
COMMENT ON COLUMN time_entries.content_hash IS 'Hash of the canonical fields; changes when content does.';
COMMENT ON COLUMN time_entries.raw_digest IS '63 bits of the md5 of raw: how a sync tells that a payload it reads again is unchanged, without reading the stored one.';
COMMENT ON COLUMN time_entries.first_seen_at IS 'When deskbridge first saw the record (UTC).';
COMMENT ON COLUMN time_entries.last_synced_at IS 'When a sync last read the record (UTC).';
COMMENT ON COLUMN time_entries.deleted_at IS 'When the record was found gone at the vendor.';
COMMENT ON COLUMN time_entries.deleted_proof IS 'What proved the deletion: not_found (the vendor answered not found for it), listing (absent from a complete listing), parent (its ticket was answered not found), operator (confirmed with ''deskbridge deletes confirm''), legacy (deleted before deskbridge recorded proofs).';
COMMENT ON COLUMN time_entries.run_id IS 'sync_runs.run_id that last changed the row.';
COMMENT ON COLUMN time_entries.ticket_id IS 'tickets.source_id the time was logged on.';
COMMENT ON COLUMN time_entries.worker_id IS 'people.source_id of who did the work.';
COMMENT ON COLUMN time_entries.worker_name IS 'Worker name as the vendor shows it.';
COMMENT ON COLUMN time_entries.seconds_worked IS 'Time worked, in seconds.';
COMMENT ON COLUMN time_entries.seconds_billable IS 'Time billable, in seconds.';
COMMENT ON COLUMN time_entries.work_time IS 'When the work was done (UTC).';
COMMENT ON COLUMN time_entries.bill_time IS 'When it is billed (UTC).';
COMMENT ON COLUMN time_entries.note IS 'Text logged with the entry.';
COMMENT ON COLUMN time_entries.created_by_id IS 'people.source_id of who logged it.';
COMMENT ON COLUMN people.connection IS 'Connection name from config.';
COMMENT ON COLUMN people.source_id IS 'The vendor''s id for this record.';
COMMENT ON COLUMN people.raw IS 'Vendor payload, secrets stripped.';
COMMENT ON COLUMN people.content_hash IS 'Hash of the canonical fields; changes when content does.';
COMMENT ON COLUMN people.raw_digest IS '63 bits of the md5 of raw: how a sync tells that a payload it reads again is unchanged, without reading the stored one.';
COMMENT ON COLUMN people.first_seen_at IS 'When deskbridge first saw the record (UTC).';
COMMENT ON COLUMN people.last_synced_at IS 'When a sync last read the record (UTC).';
COMMENT ON COLUMN people.deleted_at IS 'When the record was found gone at the vendor.';
COMMENT ON COLUMN people.deleted_proof IS 'What proved the deletion: not_found (the vendor answered not found for it), listing (absent from a complete listing), parent (its ticket was answered not found), operator (confirmed with ''deskbridge deletes confirm''), legacy (deleted before deskbridge recorded proofs).';
COMMENT ON COLUMN people.run_id IS 'sync_runs.run_id that last changed the row.';
COMMENT ON COLUMN people.kind IS 'staff or requester.';
COMMENT ON COLUMN people.name IS 'Full name.';
COMMENT ON COLUMN people.email IS 'Primary e-mail address.';
COMMENT ON COLUMN people.organization IS 'Organization or company.';
COMMENT ON COLUMN people.is_active IS 'Whether the account is enabled.';
COMMENT ON COLUMN attachments.connection IS 'Connection name from config.';
COMMENT ON COLUMN attachments.source_id IS 'The vendor''s id for this record.';
COMMENT ON COLUMN attachments.raw IS 'Vendor payload, secrets stripped.';
COMMENT ON COLUMN attachments.content_hash IS 'Hash of the canonical fields; changes when content does.';
COMMENT ON COLUMN attachments.raw_digest IS '63 bits of the md5 of raw: how a sync tells that a payload it reads again is unchanged, without reading the stored one.';
COMMENT ON COLUMN attachments.first_seen_at IS 'When deskbridge first saw the record (UTC).';
COMMENT ON COLUMN attachments.last_synced_at IS 'When a sync last read the record (UTC).';
COMMENT ON COLUMN attachments.deleted_at IS 'When the record was found gone at the vendor.';
COMMENT ON COLUMN attachments.deleted_proof IS 'What proved the deletion: not_found (the vendor answered not found for it), listing (absent from a complete listing), parent (its ticket was answered not found), operator (confirmed with ''deskbridge deletes confirm''), legacy (deleted before deskbridge recorded proofs).';
COMMENT ON COLUMN attachments.run_id IS 'sync_runs.run_id that last changed the row.';
COMMENT ON COLUMN attachments.ticket_id IS 'tickets.source_id of the ticket.';
COMMENT ON COLUMN attachments.note_id IS 'notes.source_id it is attached to, if any.';
COMMENT ON COLUMN attachments.filename IS 'File name.';
COMMENT ON COLUMN attachments.size_bytes IS 'Size in bytes.';
COMMENT ON COLUMN attachments.content_type IS 'MIME type.';
COMMENT ON COLUMN attachments.created_at IS 'Upload time (UTC).';
COMMENT ON COLUMN ticket_fields.connection IS 'Connection name from config.';
COMMENT ON COLUMN ticket_fields.ticket_id IS 'tickets.source_id of the ticket.';
COMMENT ON COLUMN ticket_fields.field_key IS 'The field''s stable key at this connection (fields.field_key), as mappings name it.';
COMMENT ON COLUMN ticket_fields.field_id IS 'The vendor''s own id of the field (e.g. Track-It! sequence 85).';
COMMENT ON COLUMN ticket_fields.label IS 'The field''s current display name at the vendor.';
COMMENT ON COLUMN ticket_fields.type IS 'text, integer, number, date, datetime, boolean, choice or multichoice.';
COMMENT ON COLUMN ticket_fields.value_text IS 'The value as text, for every type (choices joined by '', '', dates ISO 8601).';
COMMENT ON COLUMN ticket_fields.value_number IS 'The value of an integer or number field.';
COMMENT ON COLUMN ticket_fields.value_time IS 'The value of a date (midnight UTC) or datetime field (UTC).';
COMMENT ON COLUMN ticket_fields.value_bool IS 'The value of a boolean field.';
COMMENT ON COLUMN ticket_fields.value_json IS 'The value as JSON, typed (a list for multichoice).';
COMMENT ON COLUMN ticket_fields.last_synced_at IS 'When a sync wrote this value (UTC).';
COMMENT ON COLUMN ticket_fields.deleted_at IS 'When the ticket was found gone at the vendor.';
COMMENT ON COLUMN ticket_fields.run_id IS 'sync_runs.run_id that wrote this value.';
COMMENT ON COLUMN fields.connection IS 'Connection name from config.';
COMMENT ON COLUMN fields.field_key IS 'Stable key of the field at this connection.';
COMMENT ON COLUMN fields.field_id IS 'The vendor''s own id of the field.';
COMMENT ON COLUMN fields.label IS 'Current display name at the vendor.';
COMMENT ON COLUMN fields.type IS 'text, integer, number, date, datetime, boolean, choice or multichoice.';
COMMENT ON COLUMN fields.writable IS 'Whether the vendor''s API can write the field.';
COMMENT ON COLUMN fields.choices IS 'Allowed values of a choice or multichoice field, when the API lists them.';
COMMENT ON COLUMN fields.source IS 'Where the definition came from (vendor endpoint or table).';
COMMENT ON COLUMN fields.last_synced_at IS 'When a sync last read the definition (UTC).';
COMMENT ON COLUMN fields.deleted_at IS 'When the field was found gone from the vendor''s definitions.';
COMMENT ON COLUMN ticket_history.connection IS 'Connection name.';
COMMENT ON COLUMN ticket_history.source_id IS 'tickets.source_id.';
COMMENT ON COLUMN ticket_history.content_hash IS 'Hash of this version.';
COMMENT ON COLUMN ticket_history.seen_at IS 'When this version was first seen (UTC).';
COMMENT ON COLUMN ticket_history.run_id IS 'Run that saw it.';
COMMENT ON COLUMN ticket_history.subject IS 'Subject in this version.';
COMMENT ON COLUMN ticket_history.status IS 'Vendor status in this version.';
COMMENT ON COLUMN ticket_history.status_category IS 'Canonical status in this version.';
COMMENT ON COLUMN ticket_history.priority IS 'Vendor priority in this version.';
COMMENT ON COLUMN ticket_history.assignee_id IS 'Assignee in this version.';
COMMENT ON COLUMN ticket_history.updated_at IS 'Vendor update time in this version.';
COMMENT ON COLUMN sync_runs.run_id IS 'Run number, increasing.';
COMMENT ON COLUMN sync_runs.connection IS 'Connection name.';
COMMENT ON COLUMN sync_runs.started_at IS 'Start (UTC).';
COMMENT ON COLUMN sync_runs.ended_at IS 'End (UTC); null while running or if killed.';
COMMENT ON COLUMN sync_runs.status IS 'running, success, failed, interrupted.';
COMMENT ON COLUMN sync_runs.full_refresh IS 'Whether cursors were ignored.';
COMMENT ON COLUMN sync_runs.counts IS 'Rows written per stream.';
COMMENT ON COLUMN sync_runs.requests IS 'HTTP requests made by the incremental read.';
COMMENT ON COLUMN sync_runs.reconcile_requests IS 'HTTP requests made by reconcile passes.';
COMMENT ON COLUMN sync_runs.error IS 'Error message of a failed run (secrets redacted).';
COMMENT ON COLUMN sync_runs.worker IS 'The process that ran it, as host:pid (serve workers share a lake).';
COMMENT ON COLUMN sync_runs.snapshot_id IS 'DuckLake warehouse: the snapshot analysts read after this run.';
COMMENT ON COLUMN sync_state.connection IS 'Connection name.';
COMMENT ON COLUMN sync_state.stream IS 'Stream name.';
COMMENT ON COLUMN sync_state.state IS 'Cursor state (connector-defined).';
COMMENT ON COLUMN sync_state.state_version IS 'Version of the state''s shape, checked on load.';
COMMENT ON COLUMN sync_state.updated_at IS 'When the cursor last moved (UTC).';
COMMENT ON COLUMN service_state.connection IS 'Connection name.';
COMMENT ON COLUMN service_state.next_run_at IS 'When `deskbridge serve` plans the next run (UTC).';
COMMENT ON COLUMN service_state.backoff_until IS 'After failures in a row: no run before this time (UTC); null when healthy.';
COMMENT ON COLUMN service_state.updated_at IS 'When the service last wrote this row (UTC).';
COMMENT ON COLUMN suspected_deletions.connection IS 'Connection name.';
COMMENT ON COLUMN suspected_deletions.entity IS 'tickets, notes, time_entries, people or attachments.';
COMMENT ON COLUMN suspected_deletions.source_id IS 'The row''s source_id.';
COMMENT ON COLUMN suspected_deletions.ticket_id IS 'Its ticket, for child rows.';
COMMENT ON COLUMN suspected_deletions.state IS 'candidate (to be checked at the end of the run) or held (waits for an operator).';
COMMENT ON COLUMN suspected_deletions.reason IS 'Why a held row was not deleted.';
COMMENT ON COLUMN suspected_deletions.listed_from IS 'Start of the listing pass that lacked the row (UTC).';
COMMENT ON COLUMN suspected_deletions.detected_at IS 'When that pass completed (UTC).';
COMMENT ON COLUMN suspected_deletions.run_id IS 'sync_runs.run_id that found it missing.';
COMMENT ON COLUMN crosswalk.link IS 'Link name from config.';
COMMENT ON COLUMN crosswalk.entity IS 'tickets, notes or time_entries.';
COMMENT ON COLUMN crosswalk.origin IS 'Side the record was first seen on: a or b.';
COMMENT ON COLUMN crosswalk.origin_id IS 'source_id on the origin side.';
COMMENT ON COLUMN crosswalk.a_id IS 'source_id on side a.';
COMMENT ON COLUMN crosswalk.b_id IS 'source_id on side b.';
COMMENT ON COLUMN crosswalk.state IS 'pending (write sent, twin not yet known), created (twin known, follow-up requests may be missing) or linked.';
COMMENT ON COLUMN crosswalk.marker IS 'Token carried in the written content, to find it after a crash.';
COMMENT ON COLUMN crosswalk.base_a IS 'Field values last agreed, in side a''s terms.';
COMMENT ON COLUMN crosswalk.base_b IS 'Field values last agreed, in side b''s terms.';
COMMENT ON COLUMN crosswalk.hash_a IS 'Digest (md5) of base_a: what side a last agreed to.';
COMMENT ON COLUMN crosswalk.hash_b IS 'Digest (md5) of base_b: what side b last agreed to.';
COMMENT ON COLUMN crosswalk.pushed_at IS 'Last write through this link (UTC).';
COMMENT ON COLUMN push_failures.link IS 'Link name.';
COMMENT ON COLUMN push_failures.entity IS 'Entity of the source record.';
COMMENT ON COLUMN push_failures.target IS 'Side written to: a or b.';
COMMENT ON COLUMN push_failures.source_id IS 'The record on the source side.';
COMMENT ON COLUMN push_failures.op IS 'Write operation attempted.';
COMMENT ON COLUMN push_failures.reason IS 'Why it failed (vendor message, missing mapping, permission).';
COMMENT ON COLUMN push_failures.attempts IS 'How many runs tried it.';
COMMENT ON COLUMN push_failures.first_failed_at IS 'First failure (UTC).';
COMMENT ON COLUMN push_failures.last_failed_at IS 'Latest failure (UTC).';
COMMENT ON COLUMN push_failures.resolved_at IS 'When a later run wrote it (UTC).';
COMMENT ON COLUMN push_skips.link IS 'Link name.';
COMMENT ON COLUMN push_skips.entity IS 'Entity of the source record.';
COMMENT ON COLUMN push_skips.target IS 'Side that cannot hold it.';
COMMENT ON COLUMN push_skips.source_id IS 'The record on the source side.';
COMMENT ON COLUMN push_skips.reason IS 'Why it was not written.';
COMMENT ON COLUMN push_skips.skipped_at IS 'When (UTC).';
COMMENT ON COLUMN push_runs.push_id IS 'Push run number.';
COMMENT ON COLUMN push_runs.link IS 'Link name.';
COMMENT ON COLUMN push_runs.started_at IS 'Start (UTC).';
COMMENT ON COLUMN push_runs.ended_at IS 'End (UTC).';
COMMENT ON COLUMN push_runs.status IS 'running, success, partial (some rows failed), failed.';
COMMENT ON COLUMN push_runs.dry_run IS 'Whether writes were only planned.';
COMMENT ON COLUMN push_runs.counts IS 'Actions planned, done, failed per kind.';
COMMENT ON COLUMN push_runs.error IS 'Error of a failed push.';
COMMENT ON COLUMN meta.key IS 'schema_version, migrated_at, schema_key, catalog_digest or snapshot_at.';
COMMENT ON COLUMN meta.value IS 'The value, as text.';
INSERT INTO meta VALUES ('catalog_digest', '728c4b0802163558c3a1e6792e56e59b');
"""
