-- Underwriting features, one row per application, from the applicant's pseudonymized medical
-- history in the two years before the application date (nothing after it: point in time).
-- Diagnoses are grouped by ICD-10 chapter, plus the codes underwriters single out.
-- Money is summed as DECIMAL so the same data always gives the same features, bit for bit.
WITH apps AS (
    SELECT application_id, person_id, CAST(applied_date AS DATE) AS applied_date, decision
    FROM uw_decisions
),
history AS (
    SELECT apps.application_id, v.icd10, v.hospital_level, v.inpatient_days, v.cost,
           CAST(v.visit_date AS DATE) AS visit_date, apps.applied_date
    FROM apps
    JOIN med_visits AS v
      ON v.person_id = apps.person_id
     AND CAST(v.visit_date AS DATE) <= apps.applied_date
     AND CAST(v.visit_date AS DATE) > apps.applied_date - INTERVAL 730 DAY
),
visits AS (
    SELECT application_id,
           count(*) AS visits_2y,
           count(*) FILTER (WHERE inpatient_days > 0) AS admissions_2y,
           sum(inpatient_days) AS inpatient_days_2y,
           sum(inpatient_days) FILTER (WHERE visit_date > applied_date - INTERVAL 180 DAY) AS inpatient_days_6m,
           max(inpatient_days) AS longest_stay,
           CAST(sum(CAST(cost AS DECIMAL(18, 2))) AS DOUBLE) AS cost_2y,
           max(cost) AS max_visit_cost,
           max(hospital_level) AS max_hospital_level,
           count(*) FILTER (WHERE hospital_level = 3) AS tertiary_visits,
           count(*) FILTER (WHERE icd10 LIKE 'C%') AS malignant_visits,
           sum(inpatient_days) FILTER (WHERE icd10 LIKE 'C%') AS malignant_inpatient_days,
           count(*) FILTER (WHERE icd10 LIKE 'D%' AND icd10 < 'D49') AS other_neoplasm_visits,
           count(*) FILTER (WHERE icd10 LIKE 'I%') AS circulatory_visits,
           count(*) FILTER (WHERE icd10 LIKE 'E%') AS endocrine_visits,
           count(*) FILTER (WHERE icd10 LIKE 'J%') AS respiratory_visits,
           count(*) FILTER (WHERE icd10 LIKE 'N%') AS genitourinary_visits,
           count(*) FILTER (WHERE icd10 LIKE 'F%') AS mental_visits,
           count(*) FILTER (WHERE icd10 LIKE 'A%' OR icd10 LIKE 'B%') AS infectious_visits,
           count(*) FILTER (WHERE icd10 LIKE 'R%') AS symptom_visits,
           max(CAST(icd10 LIKE 'I10%' AS INTEGER)) AS hypertension,
           max(CAST(icd10 >= 'I20' AND icd10 < 'I26' AS INTEGER)) AS ischaemic_heart,
           max(CAST(icd10 >= 'E10' AND icd10 < 'E15' AS INTEGER)) AS diabetes,
           max(CAST(icd10 LIKE 'J44%' AS INTEGER)) AS copd,
           max(CAST(icd10 LIKE 'N18%' AS INTEGER)) AS chronic_kidney,
           max(CAST(icd10 LIKE 'R91%' OR icd10 LIKE 'D14.3%' AS INTEGER)) AS lung_nodule,
           max(CAST(icd10 LIKE 'B18%' AS INTEGER)) AS chronic_hepatitis
    FROM history
    GROUP BY application_id
),
claims AS (
    SELECT apps.application_id, count(*) AS claims_1y, CAST(sum(CAST(c.amount AS DECIMAL(18, 2))) AS DOUBLE) AS claim_amount_1y
    FROM apps
    JOIN med_claims AS c
      ON c.person_id = apps.person_id
     AND CAST(c.claim_date AS DATE) <= apps.applied_date
     AND CAST(c.claim_date AS DATE) > apps.applied_date - INTERVAL 365 DAY
    GROUP BY apps.application_id
)
SELECT
    apps.application_id,
    apps.person_id,
    coalesce(visits.visits_2y, 0) AS visits_2y,
    coalesce(visits.admissions_2y, 0) AS admissions_2y,
    coalesce(visits.inpatient_days_2y, 0) AS inpatient_days_2y,
    coalesce(visits.inpatient_days_6m, 0) AS inpatient_days_6m,
    coalesce(visits.longest_stay, 0) AS longest_stay,
    coalesce(visits.cost_2y, 0) AS cost_2y,
    coalesce(visits.max_visit_cost, 0) AS max_visit_cost,
    coalesce(visits.max_hospital_level, 0) AS max_hospital_level,
    coalesce(visits.tertiary_visits, 0) AS tertiary_visits,
    coalesce(visits.malignant_visits, 0) AS malignant_visits,
    coalesce(visits.malignant_inpatient_days, 0) AS malignant_inpatient_days,
    coalesce(visits.other_neoplasm_visits, 0) AS other_neoplasm_visits,
    coalesce(visits.circulatory_visits, 0) AS circulatory_visits,
    coalesce(visits.endocrine_visits, 0) AS endocrine_visits,
    coalesce(visits.respiratory_visits, 0) AS respiratory_visits,
    coalesce(visits.genitourinary_visits, 0) AS genitourinary_visits,
    coalesce(visits.mental_visits, 0) AS mental_visits,
    coalesce(visits.infectious_visits, 0) AS infectious_visits,
    coalesce(visits.symptom_visits, 0) AS symptom_visits,
    coalesce(visits.hypertension, 0) AS hypertension,
    coalesce(visits.ischaemic_heart, 0) AS ischaemic_heart,
    coalesce(visits.diabetes, 0) AS diabetes,
    coalesce(visits.copd, 0) AS copd,
    coalesce(visits.chronic_kidney, 0) AS chronic_kidney,
    coalesce(visits.lung_nodule, 0) AS lung_nodule,
    coalesce(visits.chronic_hepatitis, 0) AS chronic_hepatitis,
    coalesce(claims.claims_1y, 0) AS claims_1y,
    coalesce(claims.claim_amount_1y, 0) AS claim_amount_1y,
    apps.decision
FROM apps
LEFT JOIN visits USING (application_id)
LEFT JOIN claims USING (application_id)
ORDER BY apps.application_id
