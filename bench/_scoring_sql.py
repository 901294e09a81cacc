"""The SQL the `scoring` benchmark compares the service with: the hand-written twin and the floor.

- The hand-written twin (`CONTACT_POINTS` + `HAND_WRITTEN`) gives exactly the scores of the benchmark's
  model (bench/scoring.py: RULES, CONDITION_RULE, the 90-day window, bands A 150+, B 100-149, C 0-99,
  threshold 100): one scan of the interactions into an analysed temp table, then one upsert guarded with
  IS DISTINCT FROM, so a run with nothing changed writes nothing. It is what the service should cost
  (it shares the service's one planner setting, see WITHOUT_INDEX_SCANS).
- The floor (`FLOOR_Q4`, `FLOOR_Q4B`) is reference/pg-floor's q4_update.sql / q4_rescore_noop.sql
  adapted to this schema: one UPDATE ... FROM a per-contact aggregate over the last 90 days (points by
  kind, the benchmark's points; no cap, no url filter, no condition rule), through the lead to the
  score table, which is where a score lives here. Q4 from all scores 0, Q4b the same with
  `IS DISTINCT FROM` right after (nothing to write: the read floor). Its scores differ from the model's
  by design, so they are not compared; it says what the reads and writes cost at least.

Parameters are pyformat (`%(model)s`, `%(now)s`); a literal `?` is PostgreSQL's jsonb key operator.
"""

# Both run without plain index scans, as the service's full recompute does (the planner would read the
# interactions by (kind, occurred_at) and the score rows by (model_id, score), row by row).
WITHOUT_INDEX_SCANS, WITH_INDEX_SCANS = "SET LOCAL enable_indexscan = off", "SET LOCAL enable_indexscan = on"

CONTACT_POINTS = """
DROP TABLE IF EXISTS bench_contact_points;
CREATE TEMP TABLE bench_contact_points ON COMMIT DROP AS
SELECT contact_id,
       2 * LEAST(count(*) FILTER (WHERE kind = 'email_open'), 10)
     + 5 * count(*) FILTER (WHERE kind = 'email_click')
     + 10 * count(*) FILTER (
            WHERE kind = 'page_visit' AND strpos(lower(properties ->> 'url'), '/pricing') > 0)
     + 25 * count(*) FILTER (WHERE kind = 'form_submit')
     + 15 * count(*) FILTER (WHERE kind = 'download') AS points
FROM crm_core_interaction
WHERE kind IN ('email_open', 'email_click', 'page_visit', 'form_submit', 'download')
  AND occurred_at >= %(now)s::timestamptz - interval '90 days' AND occurred_at <= %(now)s
  AND NOT (properties ? 'unscored')
GROUP BY contact_id;
ANALYZE bench_contact_points;
"""

HAND_WRITTEN = """
INSERT INTO leadscoring_leadscore (lead_id, model_id, score, grade, sales_ready, computed_at, handoff_state)
SELECT n.id, %(model)s, n.score, n.grade, n.score >= 100, %(now)s, ''
FROM (
    SELECT s.id, s.score,
           CASE WHEN s.score >= 150 THEN 'A' WHEN s.score BETWEEN 100 AND 149 THEN 'B'
                WHEN s.score BETWEEN 0 AND 99 THEN 'C' ELSE '' END AS grade
    FROM (
        SELECT l.id, COALESCE(c.points, 0)
                     + CASE WHEN ct.job_role = 'decision_maker' THEN 30 ELSE 0 END AS score
        FROM crm_core_lead l
        LEFT JOIN bench_contact_points c ON c.contact_id = l.parentcontactid
        LEFT JOIN crm_core_contact ct ON ct.id = l.parentcontactid
    ) s
) n
LEFT JOIN leadscoring_leadscore o ON o.lead_id = n.id AND o.model_id = %(model)s
WHERE (o.score, o.grade, o.sales_ready) IS DISTINCT FROM (n.score, n.grade, n.score >= 100)
ON CONFLICT (lead_id, model_id) DO UPDATE SET score = EXCLUDED.score, grade = EXCLUDED.grade,
    sales_ready = EXCLUDED.sales_ready, computed_at = EXCLUDED.computed_at
"""

_FLOOR = """
UPDATE leadscoring_leadscore s
SET score = p.pts
FROM (SELECT i.contact_id,
             sum(CASE i.kind WHEN 'email_open'  THEN 2
                             WHEN 'email_click' THEN 5
                             WHEN 'page_visit'  THEN 10
                             WHEN 'form_submit' THEN 25
                             WHEN 'download'    THEN 15
                             ELSE 0 END)::int AS pts
      FROM crm_core_interaction i
      WHERE i.occurred_at >= %(now)s::timestamptz - interval '90 days'
      GROUP BY i.contact_id) p,
     crm_core_lead l
WHERE l.parentcontactid = p.contact_id AND s.lead_id = l.id AND s.model_id = %(model)s
"""
FLOOR_Q4 = _FLOOR
FLOOR_Q4B = _FLOOR + "  AND s.score IS DISTINCT FROM p.pts\n"

# The starting state of every full recompute, for each side alike (untimed): a score row per lead,
# all scores 0 (grade C, not sales-ready), as in pg-floor's q4_reset.sql.
ZERO_SCORES = """
INSERT INTO leadscoring_leadscore (lead_id, model_id, score, grade, sales_ready, computed_at, handoff_state)
SELECT l.id, %(model)s, 0, 'C', false, %(now)s, '' FROM crm_core_lead l
ON CONFLICT (lead_id, model_id) DO UPDATE SET score = 0, grade = 'C', sales_ready = false
WHERE (leadscoring_leadscore.score, leadscoring_leadscore.grade, leadscoring_leadscore.sales_ready)
      IS DISTINCT FROM (0, 'C', false)
"""

# Rows of the score table written (inserted or updated) in this transaction so far.
ROWS_WRITTEN = """
SELECT n_tup_ins + n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = 'leadscoring_leadscore'
"""

# Lead id -> (score, grade, sales_ready) of two models: the leads in one set and not the other.
SETS_DIFFER = """
SELECT (SELECT count(*) FROM (
            (SELECT lead_id, score, grade, sales_ready FROM leadscoring_leadscore WHERE model_id = %(a)s
             EXCEPT ALL
             SELECT lead_id, score, grade, sales_ready FROM leadscoring_leadscore WHERE model_id = %(b)s)
            UNION ALL
            (SELECT lead_id, score, grade, sales_ready FROM leadscoring_leadscore WHERE model_id = %(b)s
             EXCEPT ALL
             SELECT lead_id, score, grade, sales_ready FROM leadscoring_leadscore WHERE model_id = %(a)s)
        ) d),
       (SELECT count(*) FROM leadscoring_leadscore WHERE model_id = %(a)s),
       (SELECT count(*) FROM crm_core_lead),
       (SELECT max(score) FROM leadscoring_leadscore WHERE model_id = %(a)s)
"""

# What the benchmark writes (and rolls back): the score table, and in the incremental part interactions
# and, through the data set's primary model, leads.
WRITTEN_TABLES = ("leadscoring_leadscore", "crm_core_interaction", "crm_core_lead")
