'use strict';
// The calendar rule, as on the laptop (desktop_audit/clock.py): a due date is a calendar
// date at the record's site, "today" is today in the site's IANA time zone, and a date is
// overdue once the day after it has begun there (due today is not overdue). Node's Intl
// knows the same zones as the laptop's tzdata.

const formats = new Map(); // zone -> Intl.DateTimeFormat (made once per zone)

function formatter(zone) {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit',
    });
    formats.set(zone, f);
  }
  return f;
}

// 'YYYY-MM-DD' of the instant `now` (a Date) in `zone`; UTC for a missing or unknown zone.
function todayAt(zone, now = new Date()) {
  let f;
  try {
    f = formatter(zone || 'UTC');
  } catch {
    f = formatter('UTC');
  }
  const parts = Object.fromEntries(f.formatToParts(now).map(p => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}`;
}

// Whether Intl can compute dates in this zone at all.
function knownZone(zone) {
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

// The one due-date rule: overdue once the day after `due` ('YYYY-MM-DD...') has begun.
function isOverdue(due, today) {
  if (!due) return false;
  return String(due).slice(0, 10) < today;
}

module.exports = { todayAt, knownZone, isOverdue };
