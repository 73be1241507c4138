SELECT
    source_label AS source_label,
    sum(mrr) AS mrr,
    count() AS subscriptions
FROM (
    SELECT source_label, mrr FROM `stripe.stripe_test.mrr_revenue_view`
    UNION ALL
    SELECT source_label, mrr FROM `revenue_analytics.events.subscription_charge.mrr_events_revenue_view`
)
GROUP BY source_label
ORDER BY mrr DESC
