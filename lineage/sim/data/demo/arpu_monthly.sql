SELECT
    m.month AS month,
    m.mrr AS mrr,
    m.paying_customers AS paying_customers,
    if(m.paying_customers > 0, m.mrr / m.paying_customers, NULL) AS arpu,
    m.mrr / lagInFrame(m.mrr) OVER (ORDER BY m.month ASC) - 1 AS mrr_growth
FROM mrr_by_month AS m
ORDER BY month
