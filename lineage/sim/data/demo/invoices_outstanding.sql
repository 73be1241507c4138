SELECT
    id AS invoice_id,
    customer_id AS customer_id,
    amount_due / 100 AS amount_due,
    dateDiff('day', created_at, now()) AS days_open
FROM stripe_test_invoice
WHERE NOT paid AND status != 'void'
ORDER BY days_open DESC
