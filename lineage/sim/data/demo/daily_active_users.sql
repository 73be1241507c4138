SELECT
    toStartOfDay(timestamp) AS day,
    uniq(person_id) AS dau,
    count() AS events
FROM events
WHERE timestamp > now() - INTERVAL 90 DAY
GROUP BY day
ORDER BY day
