-- Supplier-rating features, one row per supplier of the Dali agri-culture-tourism platform:
-- platform incidents, plus the enterprise's public records (social insurance with arrears,
-- housing fund, tax credit grade, admin and environmental penalties, court enforcement).
-- Money is summed as DECIMAL so the same data always gives the same features, bit for bit.
WITH sup AS (
    SELECT uscc, category, region_code, CAST(joined_date AS DATE) AS joined_date FROM sup_suppliers
),
incidents AS (
    SELECT uscc,
           count(*) AS incidents,
           count(*) FILTER (WHERE severity >= 3) AS severe_incidents,
           avg(severity) AS mean_severity,
           count(*) FILTER (WHERE kind = 'quality_failure') AS quality_failures,
           count(*) FILTER (WHERE kind = 'late_delivery') AS late_deliveries,
           count(*) FILTER (WHERE kind = 'complaint') AS complaints,
           count(*) FILTER (WHERE CAST(incident_date AS DATE) > CAST($as_of AS DATE) - INTERVAL 180 DAY)
               AS incidents_6m
    FROM sup_incidents GROUP BY uscc
),
staff AS (
    SELECT uscc, avg(headcount) AS avg_headcount, max(arrears_months) AS max_arrears_months,
           count(*) FILTER (WHERE arrears_months > 0) AS periods_in_arrears
    FROM ent_social_insurance GROUP BY uscc
),
housing AS (
    SELECT uscc, avg(contributors) AS avg_fund_contributors, count(*) AS fund_periods
    FROM ent_housing_fund GROUP BY uscc
),
credit AS (
    SELECT uscc, arg_max(credit_grade, year) AS tax_credit_grade, arg_max(credit_score, year) AS tax_credit_score
    FROM ent_tax_credit GROUP BY uscc
),
admin AS (
    SELECT uscc, count(*) AS admin_penalties FROM ent_admin_penalty GROUP BY uscc
),
env AS (
    SELECT uscc, count(*) AS env_penalties, CAST(sum(CAST(amount AS DECIMAL(18, 2))) AS DOUBLE) AS env_penalty_amount FROM ent_env_penalty GROUP BY uscc
),
court AS (
    SELECT uscc, count(*) AS enforcement_cases, max(dishonest) AS dishonest_debtor
    FROM ent_court_enforcement GROUP BY uscc
),
reg AS (
    SELECT uscc, registered_capital, CAST(established_date AS DATE) AS established_date FROM ent_registry
),
labels AS (
    SELECT uscc, max(is_bad) AS is_bad FROM sup_outcomes GROUP BY uscc
)
SELECT
    sup.uscc,
    sup.region_code,
    sup.category,
    date_diff('day', sup.joined_date, CAST($as_of AS DATE)) AS days_on_platform,
    date_diff('day', reg.established_date, CAST($as_of AS DATE)) AS firm_age_days,
    reg.registered_capital,
    coalesce(incidents.incidents, 0) AS incidents,
    coalesce(incidents.severe_incidents, 0) AS severe_incidents,
    incidents.mean_severity,
    coalesce(incidents.quality_failures, 0) AS quality_failures,
    coalesce(incidents.late_deliveries, 0) AS late_deliveries,
    coalesce(incidents.complaints, 0) AS complaints,
    coalesce(incidents.incidents_6m, 0) AS incidents_6m,
    staff.avg_headcount,
    coalesce(staff.max_arrears_months, 0) AS max_arrears_months,
    coalesce(staff.periods_in_arrears, 0) AS periods_in_arrears,
    coalesce(housing.avg_fund_contributors, 0) AS avg_fund_contributors,
    coalesce(housing.fund_periods, 0) AS fund_periods,
    coalesce(credit.tax_credit_grade, 'none') AS tax_credit_grade,
    credit.tax_credit_score,
    coalesce(admin.admin_penalties, 0) AS admin_penalties,
    coalesce(env.env_penalties, 0) AS env_penalties,
    coalesce(env.env_penalty_amount, 0) AS env_penalty_amount,
    coalesce(court.enforcement_cases, 0) AS enforcement_cases,
    coalesce(court.dishonest_debtor, 0) AS dishonest_debtor,
    labels.is_bad
FROM sup
LEFT JOIN reg USING (uscc)
LEFT JOIN incidents USING (uscc)
LEFT JOIN staff USING (uscc)
LEFT JOIN housing USING (uscc)
LEFT JOIN credit USING (uscc)
LEFT JOIN admin USING (uscc)
LEFT JOIN env USING (uscc)
LEFT JOIN court USING (uscc)
LEFT JOIN labels USING (uscc)
ORDER BY sup.uscc
