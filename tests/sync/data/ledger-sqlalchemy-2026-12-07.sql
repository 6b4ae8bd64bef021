PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE sync_folders (
	mailbox VARCHAR(200) NOT NULL,
	src_folder VARCHAR(1000) NOT NULL,
	tgt_folder VARCHAR(1000) NOT NULL,
	src_uidvalidity BIGINT,
	src_uidnext BIGINT,
	src_modseq BIGINT,
	tgt_uidvalidity BIGINT,
	PRIMARY KEY (mailbox, src_folder)
);
INSERT INTO sync_folders VALUES('default','INBOX','INBOX',7,4,11,9);
CREATE TABLE sync_messages (
	id INTEGER NOT NULL,
	mailbox VARCHAR(200) NOT NULL,
	src_folder VARCHAR(1000) NOT NULL,
	src_uidvalidity BIGINT NOT NULL,
	src_uid BIGINT NOT NULL,
	message_id TEXT,
	size BIGINT NOT NULL,
	content_hash VARCHAR(64),
	flags TEXT NOT NULL,
	tgt_folder VARCHAR(1000) NOT NULL,
	tgt_uidvalidity BIGINT,
	tgt_uid BIGINT,
	tgt_floor BIGINT,
	state VARCHAR(10) NOT NULL,
	PRIMARY KEY (id),
	UNIQUE (mailbox, src_folder, src_uidvalidity, src_uid)
);
INSERT INTO sync_messages VALUES(1,'default','INBOX',7,1,'<m1@x>',100,NULL,'\Seen','INBOX',9,501,NULL,'done');
INSERT INTO sync_messages VALUES(2,'default','INBOX',7,2,'<m2@x>',200,NULL,'\Seen','INBOX',9,502,NULL,'done');
INSERT INTO sync_messages VALUES(3,'default','INBOX',7,3,'<m3@x>',300,NULL,'\Seen','INBOX',NULL,NULL,NULL,'intent');
CREATE TABLE sync_skips (
	mailbox VARCHAR(200) NOT NULL,
	src_folder VARCHAR(1000) NOT NULL,
	src_uidvalidity BIGINT NOT NULL,
	src_uid BIGINT NOT NULL,
	reason TEXT NOT NULL,
	PRIMARY KEY (mailbox, src_folder, src_uidvalidity, src_uid)
);
INSERT INTO sync_skips VALUES('default','INBOX',7,3,'target refused: too big');
CREATE TABLE sync_passes (
	id INTEGER NOT NULL,
	mailbox VARCHAR(200) NOT NULL,
	name VARCHAR(200) NOT NULL,
	report TEXT NOT NULL,
	PRIMARY KEY (id)
);
INSERT INTO sync_passes VALUES(1,'default','pass','{"messages_copied": 2}');
CREATE TABLE sync_pass_marks (
	mailbox VARCHAR(200) NOT NULL,
	name VARCHAR(200) NOT NULL,
	base_id BIGINT NOT NULL,
	PRIMARY KEY (mailbox, name)
);
INSERT INTO sync_pass_marks VALUES('default','pass',3);
CREATE INDEX ix_sync_messages_target ON sync_messages (mailbox, tgt_folder, tgt_uidvalidity, tgt_uid);
CREATE INDEX ix_sync_messages_state ON sync_messages (mailbox, src_folder, state);
COMMIT;
