SELECT
    items.customer_id AS customer_id,
    toStartOfMonth(items.timestamp) AS month,
    sum(items.amount) AS mrr
FROM (
    SELECT customer_id, timestamp, amount
    FROM `stripe.stripe_test.revenue_item_revenue_view`
    WHERE is_recurring
    UNION ALL
    SELECT customer_id, timestamp, amount
    FROM `revenue_analytics.events.subscription_charge.revenue_item_events_revenue_view`
    WHERE is_recurring
) AS items
GROUP BY customer_id, month
