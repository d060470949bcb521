DROP TABLE receipt_queue;
