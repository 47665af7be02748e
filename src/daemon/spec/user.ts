/**
 * `--user` resolved against the image's /etc/passwd and /etc/group, as
 * dockerd does: "name", "uid", "name:group", "uid:gid"; a numeric uid
 * absent from passwd is allowed (gid 0, home /); supplementary groups are
 * the groups listing the user plus --group-add.
 */
import { invalidArgument } from '../../common/errors.js';

export interface PasswdEntry { name: string; uid: number; gid: number; home: string }
export interface GroupEntry { name: string; gid: number; members: string[] }

export interface ResolvedUser { uid: number; gid: number; additionalGids: number[]; home: string }

export function parsePasswd(text: string): PasswdEntry[] {
  return text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')).flatMap((l) => {
    const f = l.split(':');
    if (f.length < 4) return [];
    return [{ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '/' }];
  });
}

export function parseGroup(text: string): GroupEntry[] {
  return text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')).flatMap((l) => {
    const f = l.split(':');
    if (f.length < 3) return [];
    return [{ name: f[0]!, gid: Number(f[2]), members: (f[3] ?? '').split(',').map((m) => m.trim()).filter((m) => m !== '') }];
  });
}

const isNumeric = (s: string): boolean => /^[0-9]+$/.test(s);

function groupId(spec: string, groups: GroupEntry[], what: string): number {
  if (isNumeric(spec)) return Number(spec);
  const g = groups.find((e) => e.name === spec);
  if (!g) throw invalidArgument(`unable to find group ${spec}: no matching entries in group file${what}`);
  return g.gid;
}

export function resolveUser(user: string, passwdText: string | undefined, groupText: string | undefined, groupAdd: readonly string[] = []): ResolvedUser {
  const passwd = parsePasswd(passwdText ?? '');
  const groups = parseGroup(groupText ?? '');
  const [userPart = '', groupPart] = user.split(':', 2);
  let uid = 0;
  let gid = 0;
  let home = '/';
  let name: string | undefined;
  if (userPart === '') {
    const root = passwd.find((e) => e.uid === 0);
    if (root) { gid = root.gid; home = root.home; name = root.name; }
  } else if (isNumeric(userPart)) {
    uid = Number(userPart);
    const e = passwd.find((p) => p.uid === uid);
    if (e) { gid = e.gid; home = e.home; name = e.name; }
  } else {
    const e = passwd.find((p) => p.name === userPart);
    if (!e) throw invalidArgument(`unable to find user ${userPart}: no matching entries in passwd file`);
    uid = e.uid; gid = e.gid; home = e.home; name = e.name;
  }
  if (groupPart !== undefined && groupPart !== '') gid = groupId(groupPart, groups, '');
  // the primary group is a supplementary group too, as dockerd sets it since CVE-2022-36109: a
  // file whose group permissions deny that group must not be reachable through an empty list
  const additional = new Set<number>([gid]);
  // the groups listing the user (only when no explicit group was asked for, as runc's GetExecUser)
  if (name !== undefined && (groupPart === undefined || groupPart === '')) {
    for (const g of groups) if (g.members.includes(name) && g.gid !== gid) additional.add(g.gid);
  }
  for (const g of groupAdd) additional.add(groupId(g, groups, ''));
  return { uid, gid, additionalGids: [...additional], home };
}
