'use strict';
// The named functions the rulebook's rules are made of: the same names, arguments and
// meaning as desktop_audit/records/rulefns.py on the laptop (the differential test,
// tests/sync/test_differential.py, holds them to judging every write alike).
//
// * DERIVE[name](inputs, params, ctx): a derived value, or KEEP (the field keeps its value).
// * CHECK[name](ctx, record, args, params): null when the rule holds, otherwise an object of
//   values for the refusal's message ({} when it needs none; `opens`: [class, objectId]).
// * CONDITION[name](actor, record, values, decl): whether a permission rule's condition
//   holds for a write of `values` to `record` (null: a new record).
//
// Records are plain values as the laptop stores them: pointers are objectIds, dates
// 'YYYY-MM-DD', instants ISO-8601 UTC text. ctx gives the reads (records as the acting
// user may see them), the acting user, the record before the write and the calendar.

const { isOverdue } = require('./calendar');

const KEEP = Symbol('KEEP');
const FAIL = Object.freeze({});
const SPECIAL_WORDS = { major_nc: 'Major NC', minor_nc: 'Minor NC' };

function words(value) {
  if (value === null || value === undefined || value === '') return '';
  const text = SPECIAL_WORDS[value] || String(value).replace(/_/g, ' ');
  return text.toLowerCase();
}

function blank(value) {
  return value === null || value === undefined ||
    (Array.isArray(value) && value.length === 0) ||
    (typeof value === 'string' && value.trim() === '');
}

function isoPlus(date, minutes) {
  return new Date(date.getTime() + minutes * 60000).toISOString();
}

// ---------------------------------------------------------------- derivations

const DERIVE = {
  // a × b (a risk rating from likelihood and severity).
  product([a, b]) {
    if (a === null || a === undefined || b === null || b === undefined) return KEEP;
    return Number(a) * Number(b);
  },
  // The name of the first band whose upper bound the value does not exceed.
  band([value], params) {
    if (value === null || value === undefined) return KEEP;
    for (const [upper, name] of params.bands) {
      if (value <= upper) return name;
    }
    return params.bands[params.bands.length - 1][1];
  },
  // The significance threshold of the record's site (its default when it has none).
  async site_threshold([siteId], params, ctx) {
    if (!siteId) return KEEP;
    const site = await ctx.site(siteId);
    const value = site && site.significanceThreshold;
    return value ? Number(value) : Number(params.default);
  },
  // Significant: the risk at or above the threshold applied, or tied to an obligation.
  significance([risk, applied, refs], params) {
    const threshold = applied || Number(params.default);
    return Boolean((risk !== null && risk !== undefined && risk >= threshold) ||
      (Array.isArray(refs) ? refs.length > 0 : Boolean(refs)));
  },
  // Replenishment needed: items missing, or a seal that is not intact.
  replenishment([missing, seal]) {
    return (Array.isArray(missing) && missing.length > 0) ||
      !(seal === null || seal === undefined || seal === 'intact');
  },
};

// ---------------------------------------------------------------- checks

async function visibleRecord(ctx, className, id) {
  if (!id) return null;
  return ctx.get(className, String(id));
}

const CHECK = {
  // An instant no later than now plus the clock-skew allowance; a date no later than today
  // at the record's site.
  async not_in_future(ctx, rec, args, params) {
    const value = rec[args[0]];
    if (value === null || value === undefined) return null;
    const text = String(value);
    if (!text.includes('T')) {
      const today = await ctx.today(args.length > 1 ? rec[args[1]] : null);
      return text.slice(0, 10) > today ? { value: text.slice(0, 10) } : null;
    }
    const skew = Number(params.skewMinutes || ctx.book.clockSkewMinutes);
    if (new Date(text).getTime() > ctx.now().getTime() + skew * 60000) {
      return { value: text.slice(0, 16).replace('T', ' ') };
    }
    return null;
  },

  // A kit with missing items or a seal that is not intact cannot pass.
  pass_needs_complete_kit(ctx, rec, args) {
    const [status, needs] = args.map(a => rec[a]);
    return status === 'pass' && needs ? FAIL : null;
  },

  // The record a finding is about is given when its log type names one, exists (as the
  // acting user may see it) and is on the finding's site.
  async source_on_same_site(ctx, rec, args, params) {
    const [idField, typeField, siteField] = args;
    const sourceClass = params.classes[rec[typeField]];
    if (!sourceClass) return null;
    const sourceId = rec[idField];
    const label = ctx.book.classes[sourceClass].label.toLowerCase();
    if (!sourceId) {
      return { reason: `is required when the finding is about a ${String(rec[typeField]).replace(/_/g, ' ')} record` };
    }
    const found = await visibleRecord(ctx, sourceClass, sourceId);
    if (!found) return { reason: `no ${label} with id '${sourceId}'` };
    if (ctx.siteOf(sourceClass, found) !== rec[siteField]) {
      return { reason: 'the record is on another site' };
    }
    return null;
  },

  // A record pointing at a review points at one of its own site.
  async review_on_same_site(ctx, rec, args, params) {
    const [refField, siteField] = args;
    if (!rec[refField]) return null;
    const review = await visibleRecord(ctx, params.class, rec[refField]);
    return review && review.site !== rec[siteField] ? FAIL : null;
  },

  // Evidence belongs to a record of a class that takes it, which exists and is on the
  // evidence's site.
  async parent_on_same_site(ctx, rec, args, params) {
    const [classField, idField, siteField] = args;
    const parentClass = rec[classField];
    if (!params.classes.includes(parentClass)) {
      return { reason: `photos attach to ${params.classes.join(', ')}` };
    }
    const parent = await visibleRecord(ctx, parentClass, rec[idField]);
    if (!parent) return { reason: `no record with id '${rec[idField]}'` };
    if (ctx.siteOf(parentClass, parent) !== rec[siteField]) {
      return { reason: 'must be the site of the record the evidence belongs to' };
    }
    return null;
  },

  // A status reached only through its workflow action.
  approved_only_by_approve(ctx, rec, args, params) {
    const name = args[0];
    if (ctx.action === params.action) return null;
    if (rec[name] === params.value && (ctx.old || {})[name] !== params.value) return FAIL;
    return null;
  },

  // A review is completed (or approved) only once its audit date has come at the site.
  async audit_date_reached(ctx, rec, args, params) {
    const [dateField, statusField, siteField] = args;
    const status = rec[statusField];
    if (!params.statuses.includes(status) || !rec[dateField]) return null;
    const old = ctx.old;
    if (!params.always && old && old[statusField] === status && old[dateField] === rec[dateField]) {
      return null;
    }
    const day = String(rec[dateField]).slice(0, 10);
    if (day > await ctx.today(rec[siteField])) return { value: day, status_words: words(status) };
    return null;
  },

  // The user a field names has one of the roles in `roles`.
  async owner_is_manager_or_admin(ctx, rec, args, params) {
    const ownerId = rec[args[0]];
    const owner = ownerId ? await ctx.get('User', ownerId) : null;
    if (owner && !params.roles.includes(owner.role)) {
      return { username: owner.username, role: owner.role };
    }
    return null;
  },

  // An IANA time zone name, spelt exactly (the rulebook lists the names a laptop knows).
  valid_time_zone(ctx, rec, args) {
    const zone = rec[args[0]];
    if (zone === null || zone === undefined) return null;
    return ctx.zones().has(zone) ? null : { value: zone };
  },

  // something@domain.with.a.dot, no spaces.
  email_format(ctx, rec, args) {
    const email = String(rec[args[0]] || '');
    const at = email.indexOf('@');
    const local = at < 0 ? email : email.slice(0, at);
    const domain = at < 0 ? '' : email.slice(at + 1);
    if (!local || !domain.includes('.') || email.includes(' ')) return { value: email };
    return null;
  },

  // The whole text matches the regular expression `pattern`.
  matches(ctx, rec, args, params) {
    return new RegExp(`^(?:${params.pattern})$`).test(String(rec[args[0]] || '')) ? null : FAIL;
  },

  is_set(ctx, rec, args) {
    return rec[args[0]] ? null : FAIL;
  },

  is_not_set(ctx, rec, args) {
    return rec[args[0]] ? FAIL : null;
  },

  // The field is filled; with `when` ({field: [values]}) only when that field holds one.
  required(ctx, rec, args, params) {
    for (const [other, values] of Object.entries(params.when || {})) {
      if (!values.includes(rec[other])) return null;
    }
    return blank(rec[args[0]]) ? FAIL : null;
  },

  field_in(ctx, rec, args, params) {
    const value = rec[args[0]];
    if (params.values.includes(value)) return null;
    return { value, value_words: words(value) };
  },

  // The person taking the action is not the one the field names, nor the one it named
  // before this write.
  not_the_actor(ctx, rec, args) {
    if (!ctx.actor) return null;
    return rec[args[0]] === ctx.actor.id || (ctx.old || {})[args[0]] === ctx.actor.id ? FAIL : null;
  },

  // The record a finding is about is in a closing state, as its own class declares.
  async source_closing_state(ctx, rec, args, params) {
    const [idField, typeField] = args;
    const sourceClass = params.classes[rec[typeField]];
    if (!sourceClass || !rec[idField]) return null;
    const about = await visibleRecord(ctx, sourceClass, rec[idField]);
    if (!about) return { reason: 'the record the finding is about no longer exists' };
    const first = await ctx.closingState(sourceClass, about);
    return first ? { reason: first.reason, opens: first.opens } : null;
  },

  // A compliance obligation is neither failing nor overdue at its site.
  async legal_in_order(ctx, rec, args, params) {
    const [statusField, dueField, siteField] = args;
    if (params.failing.includes(rec[statusField])) return { reason: 'non-compliant' };
    if (isOverdue(rec[dueField], await ctx.today(rec[siteField]))) {
      return { reason: 'overdue for evaluation' };
    }
    return null;
  },

  // The latest record with the same values of `same` (by `order`, none later than now plus
  // the clock-skew allowance) has the field equal to `value`.
  async latest_is_pass(ctx, rec, args, params) {
    const statusField = args[0];
    const where = {};
    for (const name of params.same) where[name] = rec[name];
    const until = isoPlus(ctx.now(), ctx.book.clockSkewMinutes);
    const latest = await ctx.latest(params.class, where, params.order, until);
    if (latest && latest[statusField] === params.value) return null;
    const status = latest ? latest[statusField] : 'missing';
    return { value: status, value_words: words(status),
      opens: [params.class, String((latest || rec).objectId)] };
  },
};

// ---------------------------------------------------------------- permission conditions

function stays(actorId, before, after) {
  return before === actorId && after === actorId;
}

function pick(values, name, fallback) {
  return Object.prototype.hasOwnProperty.call(values, name) ? values[name] : fallback;
}

const CONDITION = {
  own(actor, record, values, decl) {
    const owner = decl.ownerField;
    if (!owner) return false;
    const before = record ? record[owner] : actor.id;
    return stays(actor.id, before, pick(values, owner, before));
  },
  lead(actor, record, values) {
    const before = record ? record.leadAuditor : actor.id;
    return stays(actor.id, before, pick(values, 'leadAuditor', before));
  },
  observation(actor, record, values) {
    const severity = pick(values, 'severity', (record || {}).severity);
    return severity === null || severity === undefined || severity === 'observation';
  },
  owns_site(actor, record, values) {
    const before = record ? record.siteOwner : actor.id;
    return stays(actor.id, before, pick(values, 'siteOwner', before));
  },
};

// ---------------------------------------------------------------- authorship

// self_or_office_for_assigned: yourself; someone in an office role may also name an
// active user assigned to the site. null: allowed; otherwise the reason.
async function authorRefusal(ctx, actor, author, siteId, officeRoles) {
  if (author === null || author === undefined || author === actor.id) return null;
  if (!officeRoles.includes(actor.role)) {
    const role = String(actor.role || 'user').replace(/_/g, ' ');
    return `${/^[aeiou]/.test(role) ? 'an' : 'a'} ${role} records entries as themselves`;
  }
  const user = await ctx.get('User', author);
  if (!user) return `no user with id '${author}'`;
  if (user.active === false) return `user ${user.username} is deactivated`;
  if (user.role !== 'admin' && siteId && !(user.sites || []).includes(siteId)) {
    return `user ${user.username} is not assigned to this site`;
  }
  return null;
}

const AUTHOR = { self_or_office_for_assigned: authorRefusal };

module.exports = { KEEP, FAIL, DERIVE, CHECK, CONDITION, AUTHOR, words, blank };
