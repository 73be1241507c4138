SELECT
    person_id AS person_id,
    argMin(utm_campaign, timestamp) AS first_campaign,
    argMin(utm_source, timestamp) AS first_source,
    min(timestamp) AS first_touch_at
FROM utm_touchpoints
GROUP BY person_id
