DROP TABLE receipt_links;
