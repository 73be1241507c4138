SELECT
    toStartOfDay($start_timestamp) AS day,
    $entry_utm_source AS utm_source,
    count() AS sessions,
    avg($session_duration) AS avg_duration_s,
    countIf($is_bounce) / count() AS bounce_rate
FROM sessions
WHERE $start_timestamp > now() - INTERVAL 30 DAY
GROUP BY day, utm_source
