SELECT
    e.event AS feature_event,
    p.properties.plan AS plan,
    uniq(e.person_id) AS adopters,
    min(e.timestamp) AS first_seen
FROM events AS e
INNER JOIN persons AS p ON p.id = e.person_id
WHERE e.event IN ('dashboard created', 'insight saved', 'feature flag created', 'survey launched')
GROUP BY feature_event, plan
