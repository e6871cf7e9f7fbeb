-- Carbon-efficiency features, one row per public building in Huzhou: the last 12 closed months
-- of electricity and gas per building (meters without a building are left out), the building's
-- type, floor area, age and district, and the district's heating and cooling degree-days.
-- Readings are summed as DECIMAL so the same data always gives the same features, bit for bit.
WITH window_bounds AS (
    SELECT strftime(CAST($as_of AS DATE) - INTERVAL 12 MONTH, '%Y-%m') AS first_period,
           strftime(CAST($as_of AS DATE), '%Y-%m') AS current_period
),
electricity AS (
    SELECT building_id, CAST(sum(CAST(kwh AS DECIMAL(18, 3))) AS DOUBLE) AS kwh, count(DISTINCT period) AS months, max(period) AS last_period
    FROM bld_electricity_monthly, window_bounds
    WHERE building_id IS NOT NULL AND period >= first_period AND period < current_period
    GROUP BY building_id
),
gas AS (
    SELECT building_id, CAST(sum(CAST(m3 AS DECIMAL(18, 3))) AS DOUBLE) AS m3
    FROM bld_gas_monthly, window_bounds
    WHERE building_id IS NOT NULL AND period >= first_period AND period < current_period
    GROUP BY building_id
),
climate AS (
    SELECT region_code, CAST(sum(CAST(hdd AS DECIMAL(18, 3))) AS DOUBLE) AS hdd_12m,
           CAST(sum(CAST(cdd AS DECIMAL(18, 3))) AS DOUBLE) AS cdd_12m
    FROM weather_monthly, window_bounds
    WHERE period >= first_period AND period < current_period
    GROUP BY region_code
)
SELECT
    b.building_id,
    b.building_type,
    b.floor_area,
    year(CAST($as_of AS DATE)) - b.year_built AS building_age,
    b.region_code,
    climate.hdd_12m,
    climate.cdd_12m,
    -- Annualized when a few months are missing; fewer than 6 months is not a year's evidence.
    electricity.kwh * 12.0 / electricity.months AS electricity_kwh,
    coalesce(gas.m3, 0) * 12.0 / electricity.months AS gas_m3,
    CAST(substr(electricity.last_period, 1, 4) AS INTEGER) AS energy_year,
    CASE WHEN electricity.months >= 6
         THEN (electricity.kwh + coalesce(gas.m3, 0) * $gas_kwh_per_m3) * 12.0 / electricity.months
    END AS annual_energy_kwh
FROM bld_buildings AS b
LEFT JOIN electricity USING (building_id)
LEFT JOIN gas USING (building_id)
LEFT JOIN climate USING (region_code)
ORDER BY b.building_id
