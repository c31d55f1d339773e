#!/usr/bin/env python3
"""The DuckDB peer of `contrib-recon run`, for the benchmark.

What a competent data engineer would write in SQL for the core of the job:
read the four canonical CSV exports, build spells from the increase /
decrease / adjust events (SPEC §3), expand them to months, cut them at the
closure month of closed employers and at the horizon, pick the primary
spell of each month, look up the rate row (region row, else `*`; latest
`from`, then the later row), compute the due amounts on the clamped base
(round half away from zero), aggregate the payments per person, insurance
and month (refunds subtract), add the gap months between covered months,
give every month its status, and write ledger.csv and pooling.csv in the
engine's format and order.

Scope (stated so the comparison is fair): canonical UTF-8 input only (the
generator's format); no reject handling, de-duplication, header aliases,
findings, persons.csv, make-up cases or summary. It does the ledger and the
pooling, which is where the volume is. On generated data its ledger.csv and
pooling.csv are byte-identical to contrib-recon's (bench/run.sh checks this
on the small dataset).

usage: duckdb_peer.py INPUT_DIR OUT_DIR --through YYYY-MM [--threads N]
                      [--memory-limit 1GB] [--tolerance 0.01]
"""

import argparse
import json
import os
import sys
import time

import duckdb


def month_expr(col):
    # 'YYYY-MM' -> year*12 + month-1
    return f"(CAST(substr({col}, 1, 4) AS INTEGER) * 12 + CAST(substr({col}, 6, 2) AS INTEGER) - 1)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("input_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--through", required=True)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--memory-limit", default=None)
    ap.add_argument("--tolerance", default="0.01")
    ap.add_argument("--temp-dir", default=None)
    a = ap.parse_args()

    y, m = a.through.split("-")
    through = int(y) * 12 + int(m) - 1
    tol = a.tolerance
    os.makedirs(a.out_dir, exist_ok=True)
    inp = a.input_dir.rstrip("/")

    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {a.threads}")
    if a.memory_limit:
        con.execute(f"SET memory_limit = '{a.memory_limit}'")
    if a.temp_dir:
        con.execute(f"SET temp_directory = '{a.temp_dir}'")

    t0 = time.time()
    stamps = []

    def step(name, sql):
        t = time.time()
        con.execute(sql)
        stamps.append((name, time.time() - t))

    csv = "header = true, all_varchar = true, delim = ','"

    # Employers: the standing row per id (latest status_date, tie: later row).
    step("employers", f"""
        CREATE TEMP TABLE emp AS
        SELECT employer_id, region, closed_m FROM (
            SELECT trim(employer_id) AS employer_id,
                   NULLIF(trim(region), '') AS region,
                   CASE WHEN lower(trim(status)) IN ('bankrupt', 'dissolved', 'cancelled')
                             AND NULLIF(trim(status_date), '') IS NOT NULL
                        THEN {month_expr('trim(status_date)')} END AS closed_m,
                   row_number() OVER (PARTITION BY trim(employer_id)
                                      ORDER BY NULLIF(trim(status_date), '') DESC NULLS LAST, rn DESC) AS pick
            FROM (SELECT *, row_number() OVER () AS rn
                  FROM read_csv('{inp}/employers*.csv', {csv}))
        ) WHERE pick = 1
    """)

    # Rates, resolved per region, insurance and month.
    step("rates", f"""
        CREATE TEMP TABLE rate_m AS
        SELECT region, insurance, m, er, ir, floor_, ceil_ FROM (
            SELECT r.*, UNNEST(range(r.from_m, LEAST(COALESCE(r.to_m, {through}), {through}) + 1)) AS m
            FROM (SELECT COALESCE(NULLIF(trim(region), ''), '*') AS region,
                         lower(trim(insurance)) AS insurance,
                         {month_expr('trim("from"::VARCHAR)')} AS from_m,
                         CASE WHEN NULLIF(trim("to"::VARCHAR), '') IS NOT NULL
                              THEN {month_expr('trim("to"::VARCHAR)')} END AS to_m,
                         CAST(employer_rate AS DECIMAL(18, 6)) AS er,
                         CAST(individual_rate AS DECIMAL(18, 6)) AS ir,
                         CAST(NULLIF(trim(base_floor), '') AS DECIMAL(18, 2)) AS floor_,
                         CAST(NULLIF(trim(base_ceiling), '') AS DECIMAL(18, 2)) AS ceil_,
                         row_number() OVER () AS rn
                  FROM read_csv('{inp}/rates*.csv', {csv})) r
        )
        QUALIFY row_number() OVER (PARTITION BY region, insurance, m ORDER BY from_m DESC, rn DESC) = 1
    """)

    # Events in processing order: period, then decrease < increase < adjust,
    # then file order.
    step("events", f"""
        CREATE TEMP TABLE ev AS
        SELECT row_number() OVER () AS seq,
               trim(person_id) AS person_id,
               COALESCE(NULLIF(trim(employer_id), ''), '') AS emp_key,
               lower(trim(insurance)) AS insurance,
               lower(trim(action)) AS action,
               CASE lower(trim(action)) WHEN 'decrease' THEN 0 WHEN 'increase' THEN 1 ELSE 2 END AS rank_,
               {month_expr('trim(period)')} AS m,
               CAST(NULLIF(trim(base), '') AS DECIMAL(18, 2)) AS base
        FROM read_csv('{inp}/events*.csv', {csv})
    """)

    # Spells: an increase (not while a spell at that employer is open) up to
    # the next decrease at that employer.
    step("spells", f"""
        CREATE TEMP TABLE spell AS
        WITH id AS (
            SELECT *,
                   lag(action) OVER w AS prev_action,
                   min(CASE WHEN action = 'decrease' THEN m END) OVER (
                       PARTITION BY person_id, insurance, emp_key ORDER BY m, rank_, seq
                       ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS end_m
            FROM ev
            WHERE action IN ('increase', 'decrease')
            WINDOW w AS (PARTITION BY person_id, insurance, emp_key ORDER BY m, rank_, seq)
        )
        SELECT id.seq AS spell_id, id.person_id, id.insurance, id.emp_key, id.m AS start_m,
               LEAST(COALESCE(id.end_m, {through} + 1), {through} + 1,
                     COALESCE(e.closed_m + 1, {through} + 1)) AS cover_end,
               COALESCE(id.end_m, 2147483647) AS end_m,
               id.seq, id.base
        FROM id
        LEFT JOIN emp e ON id.emp_key <> '' AND e.employer_id = id.emp_key
        WHERE id.action = 'increase' AND (id.prev_action IS NULL OR id.prev_action = 'decrease')
    """)

    # Base segments: the increase, then every adjust inside the spell; the
    # last adjust of a month wins (zero-length segments for the others).
    step("covered months", f"""
        CREATE TEMP TABLE cov AS
        WITH seg AS (
            SELECT spell_id, person_id, insurance, emp_key, start_m, cover_end, m AS seg_m, base,
                   LEAD(m) OVER (PARTITION BY spell_id ORDER BY m, rank_, seq) AS next_m
            FROM (
                SELECT s.spell_id, s.person_id, s.insurance, s.emp_key, s.start_m, s.cover_end,
                       s.start_m AS m, 1 AS rank_, s.seq, s.base
                FROM spell s
                UNION ALL
                SELECT s.spell_id, s.person_id, s.insurance, s.emp_key, s.start_m, s.cover_end,
                       a.m, 2, a.seq, a.base
                FROM spell s
                JOIN ev a ON a.action = 'adjust' AND a.person_id = s.person_id
                         AND a.insurance = s.insurance AND a.emp_key = s.emp_key
                         AND a.m >= s.start_m AND a.m < s.end_m
                         AND a.base IS NOT NULL
            )
        ), months AS (
            SELECT person_id, insurance, emp_key, start_m, base,
                   UNNEST(range(seg_m, LEAST(COALESCE(next_m, cover_end), cover_end))) AS m
            FROM seg
            WHERE seg_m < cover_end
        )
        SELECT person_id, insurance, m, count(*) AS n_cov,
               min({{'ind': emp_key = '', 'st': start_m, 'e': emp_key, 'base': base}}) AS p
        FROM months
        GROUP BY person_id, insurance, m
    """)

    step("payments", f"""
        CREATE TEMP TABLE pay AS
        SELECT person_id, insurance, m,
               sum(CASE WHEN kind = 'refund' THEN -abs(ea) ELSE ea END) AS pe,
               sum(CASE WHEN kind = 'refund' THEN -abs(ia) ELSE ia END) AS pi,
               min(NULLIF(employer_id, '')) AS payer
        FROM (
            SELECT trim(person_id) AS person_id, trim(employer_id) AS employer_id,
                   lower(trim(insurance)) AS insurance,
                   {month_expr('trim(period)')} AS m,
                   CAST(employer_amount AS DECIMAL(18, 2)) AS ea,
                   CAST(individual_amount AS DECIMAL(18, 2)) AS ia,
                   COALESCE(lower(trim(kind)), 'normal') AS kind
            FROM read_csv('{inp}/payments*.csv', {csv})
        )
        WHERE m <= {through}
        GROUP BY person_id, insurance, m
    """)

    # Gap months: strictly between two covered months, not covered.
    step("gaps", f"""
        CREATE TEMP TABLE gap AS
        SELECT person_id, insurance, UNNEST(range(prev_m + 1, m)) AS m
        FROM (SELECT person_id, insurance, m,
                     lag(m) OVER (PARTITION BY person_id, insurance ORDER BY m) AS prev_m
              FROM cov)
        WHERE prev_m IS NOT NULL AND m > prev_m + 1
    """)

    step("ledger", f"""
        CREATE TEMP TABLE ledger AS
        WITH base_rows AS (
            SELECT COALESCE(c.person_id, p.person_id) AS person_id,
                   COALESCE(c.insurance, p.insurance) AS insurance,
                   COALESCE(c.m, p.m) AS m,
                   c.n_cov, c.p, p.pe, p.pi, p.payer
            FROM cov c FULL OUTER JOIN pay p
              ON c.person_id = p.person_id AND c.insurance = p.insurance AND c.m = p.m
            UNION ALL
            SELECT g.person_id, g.insurance, g.m, NULL, NULL, NULL, NULL, NULL
            FROM gap g ANTI JOIN pay p
              ON g.person_id = p.person_id AND g.insurance = p.insurance AND g.m = p.m
        ), rated AS (
            SELECT b.*,
                   COALESCE(rr.er, rs.er) AS er, COALESCE(rr.ir, rs.ir) AS ir,
                   CASE WHEN rr.er IS NOT NULL THEN rr.floor_ ELSE rs.floor_ END AS floor_,
                   CASE WHEN rr.er IS NOT NULL THEN rr.ceil_ ELSE rs.ceil_ END AS ceil_,
                   (rr.er IS NOT NULL OR rs.er IS NOT NULL) AS has_rate
            FROM base_rows b
            LEFT JOIN emp e ON b.p IS NOT NULL AND NOT b.p.ind AND e.employer_id = b.p.e
            LEFT JOIN rate_m rr ON b.p IS NOT NULL AND e.region IS NOT NULL
                               AND rr.region = e.region AND rr.insurance = b.insurance AND rr.m = b.m
            LEFT JOIN rate_m rs ON b.p IS NOT NULL AND rs.region = '*'
                               AND rs.insurance = b.insurance AND rs.m = b.m
        ), due AS (
            SELECT *,
                   CASE WHEN has_rate THEN LEAST(GREATEST(p.base, COALESCE(floor_, p.base)), COALESCE(ceil_, p.base))
                        ELSE p.base END AS cbase
            FROM rated
        ), due2 AS (
            SELECT *,
                   CAST(ROUND(cbase * er, 2) AS DECIMAL(18, 2)) AS de,
                   CAST(ROUND(cbase * ir, 2) AS DECIMAL(18, 2)) AS di,
                   COALESCE(pe, 0) AS pe0, COALESCE(pi, 0) AS pi0
            FROM due
        )
        SELECT person_id, insurance, m,
               CASE WHEN p IS NULL THEN COALESCE(payer, '') ELSE p.e END AS employer_id,
               CASE
                 WHEN p IS NULL AND pe IS NOT NULL THEN 'unmatched'
                 WHEN p IS NULL THEN 'gap'
                 WHEN n_cov > 1 THEN 'overlap'
                 WHEN NOT has_rate THEN 'unrated'
                 WHEN GREATEST(de - pe0, 0) + GREATEST(di - pi0, 0) > {tol}
                   THEN CASE WHEN pe0 = 0 AND pi0 = 0 THEN 'arrears' ELSE 'underpaid' END
                 WHEN GREATEST(pe0 - de, 0) + GREATEST(pi0 - di, 0) > {tol} THEN 'overpaid'
                 ELSE 'paid'
               END AS status,
               CASE WHEN p IS NULL THEN NULL ELSE cbase END AS base,
               CASE WHEN p IS NULL THEN 0.00::DECIMAL(18, 2) ELSE de END AS due_employer,
               CASE WHEN p IS NULL THEN 0.00::DECIMAL(18, 2) ELSE di END AS due_individual,
               pe0 AS paid_employer, pi0 AS paid_individual
        FROM due2
    """)

    step("write ledger.csv", f"""
        COPY (SELECT person_id, insurance,
                     printf('%04d-%02d', m // 12, m % 12 + 1) AS period,
                     NULLIF(employer_id, '') AS employer_id, status,
                     CAST(base AS DECIMAL(18, 2)) AS base,
                     due_employer, due_individual, paid_employer, paid_individual
              FROM ledger ORDER BY person_id, insurance, m)
        TO '{a.out_dir}/ledger.csv' (HEADER, DELIMITER ',')
    """)
    step("write pooling.csv", f"""
        COPY (SELECT person_id, insurance,
                     printf('%04d-%02d', m // 12, m % 12 + 1) AS period,
                     NULLIF(employer_id, '') AS employer_id,
                     CAST(base AS DECIMAL(18, 2)) AS base,
                     LEAST(paid_employer, due_employer) AS pooled_employer,
                     LEAST(paid_individual, due_individual) AS pooled_individual
              FROM ledger WHERE status IN ('paid', 'overpaid')
              ORDER BY person_id, insurance, m)
        TO '{a.out_dir}/pooling.csv' (HEADER, DELIMITER ',')
    """)

    rows, pooled = con.execute("""
        SELECT (SELECT count(*) FROM ledger),
               (SELECT CAST(COALESCE(sum(LEAST(paid_employer, due_employer) + LEAST(paid_individual, due_individual)), 0)
                            AS VARCHAR)
                FROM ledger WHERE status IN ('paid', 'overpaid'))
    """).fetchone()
    summary = {
        "ledger_rows": rows,
        "pooled_total": pooled,
        "elapsed_seconds": round(time.time() - t0, 3),
        "steps": {k: round(v, 3) for k, v in stamps},
    }
    with open(os.path.join(a.out_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps(summary), file=sys.stderr)


if __name__ == "__main__":
    main()
