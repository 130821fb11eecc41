// The audit log on the embedded store: who changed what, per account, newest first.
import { auditFrom, type Row } from '../rows.js';
import type { Audit } from '../ports.js';
import { statement, type Context } from './statement.js';

export function audit({ db }: Context): Audit {
  return {
    async appendAudit(entry) {
      statement(db, `INSERT INTO audit_log (id, account_id, actor, key_id, action, target_type, target_id, ip, created)
        VALUES (@id, @accountId, @actor, @keyId, @action, @targetType, @targetId, @ip, @created)`).run(entry);
    },

    async listAudit(accountId, page) {
      const where = accountId === null ? '' : 'WHERE account_id = ?';
      const args = accountId === null ? [] : [accountId];
      const rows = statement(db, `SELECT * FROM audit_log ${where} ORDER BY created DESC, rowid DESC LIMIT ? OFFSET ?`)
        .all(...args, page.pageLength, (page.page - 1) * page.pageLength) as Row[];
      const { total } = statement(db, `SELECT count(*) AS total FROM audit_log ${where}`).get(...args) as Row;
      return { entries: rows.map(auditFrom), total };
    },
  };
}
