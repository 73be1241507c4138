SELECT
    dealstage AS stage,
    count() AS deals,
    sum(amount) AS pipeline
FROM hubspot.deals
WHERE closedate >= today() - INTERVAL 90 DAY
GROUP BY stage
