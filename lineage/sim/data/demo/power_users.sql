SELECT
    a.person_id AS person_id,
    a.active_days AS active_days,
    r.lifetime_revenue AS lifetime_revenue
FROM (
    SELECT person_id, any(person.properties.email) AS email, uniq(toDate(timestamp)) AS active_days
    FROM events
    WHERE timestamp > now() - INTERVAL 30 DAY
    GROUP BY person_id
    HAVING active_days >= 20
) AS a
LEFT JOIN revenue_by_customer AS r ON r.email = lower(a.email)
