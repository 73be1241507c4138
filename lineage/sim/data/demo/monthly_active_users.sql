SELECT
    toStartOfMonth(timestamp) AS month,
    uniq(person_id) AS mau
FROM events
WHERE timestamp > now() - INTERVAL 365 DAY
GROUP BY month
ORDER BY month
