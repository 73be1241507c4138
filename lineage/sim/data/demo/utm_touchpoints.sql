SELECT
    person_id AS person_id,
    timestamp AS timestamp,
    properties.utm_source AS utm_source,
    properties.utm_medium AS utm_medium,
    properties.utm_campaign AS utm_campaign
FROM events
WHERE event = '$pageview'
    AND isNotNull(properties.utm_campaign)
    AND timestamp > now() - INTERVAL 180 DAY
