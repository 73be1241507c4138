SELECT
    m.month AS month,
    avg(d.dau) AS avg_dau,
    any(m.mau) AS mau,
    round(avg_dau / mau, 3) AS dau_mau
FROM monthly_active_users AS m
INNER JOIN daily_active_users AS d ON toStartOfMonth(d.day) = m.month
GROUP BY month
ORDER BY month
