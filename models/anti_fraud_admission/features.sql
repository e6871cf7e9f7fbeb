-- Anti-fraud admission features, one row per enterprise, over the conformed zone.
-- Shell-company patterns: many firms at one address or under one legal representative,
-- no insured staff, no tax, recent registration, large registered capital.
-- Money is summed as DECIMAL: exact, so the same data always gives the same features (a parallel
-- float sum can differ in the last bit between runs, and that would change the training fingerprint).
WITH address_load AS (
    SELECT address, count(*) AS firms_at_address FROM ent_registry GROUP BY address
),
rep_load AS (
    SELECT legal_rep_id, count(*) AS firms_of_legal_rep FROM ent_registry GROUP BY legal_rep_id
),
tax AS (
    SELECT uscc,
           CAST(sum(CAST(revenue AS DECIMAL(18, 2))) AS DOUBLE) AS revenue_6m,
           CAST(sum(CAST(tax_paid AS DECIMAL(18, 2))) AS DOUBLE) AS tax_paid_6m,
           count(*) FILTER (WHERE revenue > 0) AS months_with_revenue
    FROM ent_tax_monthly GROUP BY uscc
),
staff AS (
    SELECT uscc, avg(headcount) AS avg_headcount, max(headcount) AS max_headcount
    FROM ent_social_insurance GROUP BY uscc
),
penalties AS (
    SELECT uscc, count(*) AS penalties_2y, CAST(sum(CAST(amount AS DECIMAL(18, 2))) AS DOUBLE) AS penalty_amount_2y
    FROM ent_admin_penalty
    WHERE decision_date >= CAST($as_of AS DATE) - INTERVAL 730 DAY
    GROUP BY uscc
),
enforcement AS (
    SELECT uscc, count(*) AS enforcement_cases, CAST(sum(CAST(amount AS DECIMAL(18, 2))) AS DOUBLE) AS enforcement_amount
    FROM ent_court_enforcement GROUP BY uscc
),
labels AS (
    SELECT uscc, max(is_fraud) AS is_fraud FROM loan_fraud_outcome GROUP BY uscc
)
SELECT
    reg.uscc,
    reg.region_code,
    date_diff('day', CAST(reg.established_date AS DATE), CAST($as_of AS DATE)) AS age_days,
    reg.registered_capital,
    CAST(reg.status = 'revoked' AS INTEGER) AS is_revoked,
    address_load.firms_at_address,
    rep_load.firms_of_legal_rep,
    coalesce(tax.revenue_6m, 0) AS revenue_6m,
    coalesce(tax.tax_paid_6m, 0) AS tax_paid_6m,
    coalesce(tax.months_with_revenue, 0) AS months_with_revenue,
    coalesce(staff.avg_headcount, 0) AS avg_headcount,
    coalesce(staff.max_headcount, 0) AS max_headcount,
    coalesce(penalties.penalties_2y, 0) AS penalties_2y,
    coalesce(penalties.penalty_amount_2y, 0) AS penalty_amount_2y,
    coalesce(enforcement.enforcement_cases, 0) AS enforcement_cases,
    coalesce(enforcement.enforcement_amount, 0) AS enforcement_amount,
    labels.is_fraud
FROM ent_registry AS reg
LEFT JOIN address_load USING (address)
LEFT JOIN rep_load USING (legal_rep_id)
LEFT JOIN tax USING (uscc)
LEFT JOIN staff USING (uscc)
LEFT JOIN penalties USING (uscc)
LEFT JOIN enforcement USING (uscc)
LEFT JOIN labels USING (uscc)
ORDER BY reg.uscc
