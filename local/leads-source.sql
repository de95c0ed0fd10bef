-- The default leads source: the table leads_sync reads (LEADS_MYSQL_TABLE=leads, default column
-- names), with sample rows. docker-compose.dev.yml's MariaDB loads it into its `leads` database on
-- first start (local/mariadb-init/10-leads-source.sh); load it by hand with
--   mariadb -h 127.0.0.1 -u opsbase -popsbase leads < local/leads-source.sql
-- To sync an existing table instead, map its columns with LEADS_MYSQL_TABLE / LEADS_MYSQL_COLUMNS
-- (README, "CRM"). What the sync needs from any source table: a unique id, an updated_at that
-- changes on every update, and an index on (updated_at, id) so each batch is a range scan.

CREATE TABLE IF NOT EXISTS leads (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(200) NULL,
  phone VARCHAR(50) NULL,
  email VARCHAR(254) NULL,
  city VARCHAR(120) NULL,
  source VARCHAR(120) NULL,
  status VARCHAR(50) NOT NULL DEFAULT 'new',
  assigned_to VARCHAR(254) NULL COMMENT 'the agent''s email; matched to an Opsbase user',
  notes TEXT NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  KEY leads_updated_at_id (updated_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT INTO leads (name, phone, email, city, source, status, assigned_to, notes, created_at, updated_at) VALUES
  ('Isha Iyer', '+91 9862992312', 'isha.iyer1@example.com', 'Delhi', 'facebook', 'won', 'agent1@opsbase.local', 'Asked for a callback after 6 pm', '2025-10-02 09:07:00.000', '2025-11-02 09:11:01.037'),
  ('Rohan Khan', '+91 9838816302', 'rohan.khan2@example.com', 'Kolkata', 'google-ads', 'new', 'agent1@opsbase.local', 'Asked for a callback after 6 pm', '2025-10-03 10:14:00.000', '2025-11-03 10:22:02.074'),
  ('Nikhil Sharma', '+91 9883960310', 'nikhil.sharma3@example.com', 'Delhi', 'referral', 'lost', NULL, 'Asked for a callback after 6 pm', '2025-10-04 11:21:00.000', '2025-11-04 11:33:03.111'),
  ('Ritu Rao', '+91 9887457446', 'ritu.rao4@example.com', 'Hyderabad', 'website', 'won', NULL, 'Asked for a callback after 6 pm', '2025-10-05 12:28:00.000', '2025-11-05 12:44:04.148'),
  ('Priya Patel', '+91 9866255890', 'priya.patel5@example.com', 'Delhi', 'walk-in', 'qualified', 'agent2@opsbase.local', NULL, '2025-10-06 13:35:00.000', '2025-11-06 13:55:05.185'),
  ('Manish Reddy', '+91 9834256684', 'manish.reddy6@example.com', 'Hyderabad', 'facebook', 'new', 'agent1@opsbase.local', NULL, '2025-10-07 14:42:00.000', '2025-11-07 14:06:06.222'),
  ('Manish Joshi', '+91 9818427393', 'manish.joshi7@example.com', 'Hyderabad', 'google-ads', 'lost', 'agent1@opsbase.local', NULL, '2025-10-08 15:49:00.000', '2025-11-08 15:17:07.259'),
  ('Manish Nair', '+91 9852164119', 'manish.nair8@example.com', 'Ahmedabad', 'facebook', 'qualified', NULL, NULL, '2025-10-09 16:56:00.000', '2025-11-09 16:28:08.296'),
  ('Nikhil Iyer', '+91 9842762079', 'nikhil.iyer9@example.com', 'Pune', 'walk-in', 'proposal', 'agent1@opsbase.local', NULL, '2025-10-10 17:03:00.000', '2025-11-10 17:39:09.333'),
  ('Isha Joshi', '+91 9870241505', 'isha.joshi10@example.com', 'Delhi', 'website', 'won', 'agent3@opsbase.local', NULL, '2025-10-11 08:10:00.000', '2025-11-11 08:50:10.370'),
  ('Aditya Iyer', '+91 9855909953', 'aditya.iyer11@example.com', 'Kolkata', 'website', 'lost', 'agent2@opsbase.local', NULL, '2025-10-12 09:17:00.000', '2025-11-12 09:01:11.407'),
  ('Meera Khan', '+91 9886910239', 'meera.khan12@example.com', 'Chennai', 'walk-in', 'proposal', 'agent3@opsbase.local', 'Wants a quote by email', '2025-10-13 10:24:00.000', '2025-11-13 10:12:12.444'),
  ('Ritu Gupta', '+91 9819229206', 'ritu.gupta13@example.com', 'Ahmedabad', 'partner', 'lost', 'agent1@opsbase.local', 'Wants a quote by email', '2025-10-14 11:31:00.000', '2025-11-14 11:23:13.481'),
  ('Meera Rao', '+91 9851554798', 'meera.rao14@example.com', 'Kolkata', 'partner', 'qualified', NULL, 'Wants a quote by email', '2025-10-15 12:38:00.000', '2025-11-15 12:34:14.518'),
  ('Asha Gupta', '+91 9857709585', 'asha.gupta15@example.com', 'Delhi', 'google-ads', 'new', 'agent2@opsbase.local', NULL, '2025-10-16 13:45:00.000', '2025-11-16 13:45:15.555'),
  ('Kavya Patel', '+91 9827359750', 'kavya.patel16@example.com', 'Kolkata', 'google-ads', 'new', 'agent2@opsbase.local', NULL, '2025-10-17 14:52:00.000', '2025-11-17 14:56:16.592'),
  ('Arjun Gupta', '+91 9863907779', 'arjun.gupta17@example.com', 'Kolkata', 'walk-in', 'qualified', 'agent3@opsbase.local', 'Interested in the premium plan', '2025-10-18 15:59:00.000', '2025-11-18 15:07:17.629'),
  ('Aditya Mehta', '+91 9861061966', 'aditya.mehta18@example.com', 'Delhi', 'referral', 'contacted', 'agent2@opsbase.local', 'Interested in the premium plan', '2025-10-19 16:06:00.000', '2025-11-19 16:18:18.666'),
  ('Nikhil Reddy', '+91 9841317839', 'nikhil.reddy19@example.com', 'Bengaluru', 'facebook', 'qualified', 'agent1@opsbase.local', NULL, '2025-10-20 17:13:00.000', '2025-11-20 17:29:19.703'),
  ('Asha Iyer', '+91 9866230047', 'asha.iyer20@example.com', 'Chennai', 'referral', 'lost', 'agent3@opsbase.local', NULL, '2025-10-21 08:20:00.000', '2025-11-01 08:40:20.740'),
  ('Pooja Das', '+91 9897908110', 'pooja.das21@example.com', 'Kolkata', 'google-ads', 'proposal', 'agent1@opsbase.local', NULL, '2025-10-22 09:27:00.000', '2025-11-02 09:51:21.777'),
  ('Divya Sharma', '+91 9874628898', 'divya.sharma22@example.com', 'Hyderabad', 'website', 'contacted', NULL, 'Asked for a callback after 6 pm', '2025-10-23 10:34:00.000', '2025-11-03 10:02:22.814'),
  ('Neha Iyer', '+91 9824754327', 'neha.iyer23@example.com', 'Mumbai', 'website', 'new', 'agent3@opsbase.local', NULL, '2025-10-24 11:41:00.000', '2025-11-04 11:13:23.851'),
  ('Ritu Iyer', '+91 9882023741', 'ritu.iyer24@example.com', 'Mumbai', 'website', 'contacted', 'agent1@opsbase.local', 'Wants a quote by email', '2025-10-25 12:48:00.000', '2025-11-05 12:24:24.888'),
  ('Farhan Nair', '+91 9829938108', 'farhan.nair25@example.com', 'Chennai', 'google-ads', 'new', 'agent3@opsbase.local', 'Wants a quote by email', '2025-10-01 13:55:00.000', '2025-11-06 13:35:25.925'),
  ('Vikram Gupta', '+91 9872544046', 'vikram.gupta26@example.com', 'Pune', 'website', 'contacted', NULL, NULL, '2025-10-02 14:02:00.000', '2025-11-07 14:46:26.962'),
  ('Vikram Joshi', '+91 9855987803', 'vikram.joshi27@example.com', 'Bengaluru', 'walk-in', 'new', 'agent3@opsbase.local', NULL, '2025-10-03 15:09:00.000', '2025-11-08 15:57:27.999'),
  ('Kavya Khan', '+91 9858553593', 'kavya.khan28@example.com', 'Mumbai', 'walk-in', 'qualified', 'agent2@opsbase.local', NULL, '2025-10-04 16:16:00.000', '2025-11-09 16:08:28.036'),
  ('Meera Joshi', '+91 9845046288', 'meera.joshi29@example.com', 'Chennai', 'referral', 'won', 'agent3@opsbase.local', 'Interested in the premium plan', '2025-10-05 17:23:00.000', '2025-11-10 17:19:29.073'),
  ('Manish Khan', '+91 9854246886', 'manish.khan30@example.com', 'Hyderabad', 'referral', 'proposal', 'agent2@opsbase.local', NULL, '2025-10-06 08:30:00.000', '2025-11-11 08:30:30.110'),
  ('Nikhil Singh', '+91 9879476293', 'nikhil.singh31@example.com', 'Mumbai', 'website', 'qualified', NULL, 'Wants a quote by email', '2025-10-07 09:37:00.000', '2025-11-12 09:41:31.147'),
  ('Siddharth Patel', '+91 9835990584', 'siddharth.patel32@example.com', 'Chennai', 'facebook', 'new', 'agent3@opsbase.local', NULL, '2025-10-08 10:44:00.000', '2025-11-13 10:52:32.184'),
  ('Nikhil Sharma', '+91 9840446731', 'nikhil.sharma33@example.com', 'Chennai', 'referral', 'proposal', NULL, 'Interested in the premium plan', '2025-10-09 11:51:00.000', '2025-11-14 11:03:33.221'),
  ('Farhan Das', '+91 9810256129', 'farhan.das34@example.com', 'Delhi', 'partner', 'new', NULL, 'Wants a quote by email', '2025-10-10 12:58:00.000', '2025-11-15 12:14:34.258'),
  ('Divya Joshi', '+91 9836752197', 'divya.joshi35@example.com', 'Kolkata', 'partner', 'qualified', NULL, 'Interested in the premium plan', '2025-10-11 13:05:00.000', '2025-11-16 13:25:35.295'),
  ('Meera Joshi', '+91 9863128543', 'meera.joshi36@example.com', 'Delhi', 'partner', 'contacted', NULL, NULL, '2025-10-12 14:12:00.000', '2025-11-17 14:36:36.332'),
  ('Arjun Iyer', '+91 9813697544', 'arjun.iyer37@example.com', 'Ahmedabad', 'partner', 'contacted', 'agent2@opsbase.local', NULL, '2025-10-13 15:19:00.000', '2025-11-18 15:47:37.369'),
  ('Farhan Das', '+91 9873667109', 'farhan.das38@example.com', 'Bengaluru', 'website', 'new', 'agent3@opsbase.local', 'Interested in the premium plan', '2025-10-14 16:26:00.000', '2025-11-19 16:58:38.406'),
  ('Vikram Khan', '+91 9828689916', 'vikram.khan39@example.com', 'Hyderabad', 'website', 'qualified', NULL, 'Interested in the premium plan', '2025-10-15 17:33:00.000', '2025-11-20 17:09:39.443'),
  ('Kavya Patel', '+91 9877264814', 'kavya.patel40@example.com', 'Chennai', 'facebook', 'won', 'agent2@opsbase.local', NULL, '2025-10-16 08:40:00.000', '2025-11-01 08:20:40.480'),
  -- Skipped by the sync, and named in its run's message: the email is malformed.
  ('Test Entry', NULL, 'not-an-email', 'Pune', 'import', 'new', NULL, 'fix me in the source', '2025-11-02 10:00:00.000', '2025-11-21 10:00:00.000');
