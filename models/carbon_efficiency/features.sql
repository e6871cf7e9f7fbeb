-- Carbon-efficiency features, one row per public building in Huzhou: the last 12 closed months
-- of electricity and gas per building (meters without a building are left out), the building's
-- type, floor area, age and district, and the district's heating and cooling degree-days.
-- Readings are summed as DECIMAL so the same data always gives the same features, bit for bit.
WITH window_bounds AS (
    SELECT strftime(CAST($as_of AS DATE) - INTERVAL 12 MONTH, '%Y-%m') AS first_period,
           strftime(CAST($as_of AS DATE), '%Y-%m') AS current_period
),
-- A month more than 10x the meter's median is a meter fault (a reading 100x too large is a known
-- failure): it counts as a typical month. Each meter is annualized over the months it reported.
electricity_readings AS (
    SELECT meter_id, building_id, period, kwh AS amount, median(kwh) OVER (PARTITION BY meter_id) AS typical
    FROM bld_electricity_monthly, window_bounds
    WHERE building_id IS NOT NULL AND period >= first_period AND period < current_period
),
gas_readings AS (
    SELECT meter_id, building_id, period, m3 AS amount, median(m3) OVER (PARTITION BY meter_id) AS typical
    FROM bld_gas_monthly, window_bounds
    WHERE building_id IS NOT NULL AND m3 IS NOT NULL AND period >= first_period AND period < current_period
),
electricity_meters AS (
    SELECT building_id,
           CAST(sum(CAST(CASE WHEN amount > 10 * typical THEN typical ELSE amount END AS DECIMAL(18, 3)))
                * 12 / count(DISTINCT period) AS DECIMAL(18, 3)) AS annual,
           count(DISTINCT period) AS months,
           max(period) AS last_period
    FROM electricity_readings GROUP BY building_id, meter_id
),
gas_meters AS (
    SELECT building_id,
           CAST(sum(CAST(CASE WHEN amount > 10 * typical THEN typical ELSE amount END AS DECIMAL(18, 3)))
                * 12 / count(DISTINCT period) AS DECIMAL(18, 3)) AS annual
    FROM gas_readings GROUP BY building_id, meter_id
),
electricity AS (
    SELECT building_id, CAST(sum(annual) AS DOUBLE) AS kwh, min(months) AS months, max(last_period) AS last_period
    FROM electricity_meters GROUP BY building_id
),
gas AS (
    SELECT building_id, CAST(sum(annual) AS DOUBLE) AS m3 FROM gas_meters GROUP BY building_id
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
    electricity.kwh AS electricity_kwh,
    coalesce(gas.m3, 0) AS gas_m3,
    CAST(substr(electricity.last_period, 1, 4) AS INTEGER) AS energy_year,
    -- A meter with fewer than 6 months is not a year's evidence: no actual energy, no K yet.
    CASE WHEN electricity.months >= 6 THEN electricity.kwh + coalesce(gas.m3, 0) * $gas_kwh_per_m3 END
        AS annual_energy_kwh
FROM bld_buildings AS b
LEFT JOIN electricity USING (building_id)
LEFT JOIN gas USING (building_id)
LEFT JOIN climate USING (region_code)
ORDER BY b.building_id
