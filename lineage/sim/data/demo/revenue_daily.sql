SELECT
    toStartOfDay(charges.timestamp) AS day,
    charges.source_label AS source_label,
    sum(charges.amount) AS revenue,
    count() AS charges
FROM (
    SELECT timestamp, source_label, amount
    FROM `stripe.stripe_test.charge_revenue_view`
    UNION ALL
    SELECT timestamp, source_label, amount
    FROM `checkoutcom.checkout_test.charge_revenue_view`
    UNION ALL
    SELECT timestamp, source_label, amount
    FROM `revenue_analytics.events.purchase.charge_events_revenue_view`
    UNION ALL
    SELECT timestamp, source_label, amount
    FROM `revenue_analytics.events.subscription_charge.charge_events_revenue_view`
) AS charges
GROUP BY day, source_label
