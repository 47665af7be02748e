// The v2 device filter compiler, run through an interpreter of the
// instructions it emits: v1's "deny all, then each rule, last match wins".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACC_MKNOD, ACC_READ, ACC_WRITE, DEV_BLOCK, DEV_CHAR, compileDeviceFilter, encodeInsns, runDeviceFilter,
} from '../../src/runtime/cgroups/devices-bpf.js';
import type { LinuxDeviceCgroup } from '../../src/runtime/cgroups/types.js';

const RW = ACC_READ | ACC_WRITE;
const ask = (rules: LinuxDeviceCgroup[], type: number, major: number, minor: number, access: number): number =>
  runDeviceFilter(compileDeviceFilter(rules), { type, major, minor, access });

// The usual container set: deny all, then the standard nodes and ptys.
const defaults: LinuxDeviceCgroup[] = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // null
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // zero
  { allow: true, type: 'c', major: 136, access: 'rwm' }, // pts
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rw' }, // console, no mknod
];

test('no rules: everything denied', () => {
  assert.equal(ask([], DEV_CHAR, 1, 3, ACC_READ), 0);
});

test('default set: listed devices allowed, others denied', () => {
  assert.equal(ask(defaults, DEV_CHAR, 1, 3, RW), 1);
  assert.equal(ask(defaults, DEV_CHAR, 1, 3, ACC_MKNOD), 1);
  assert.equal(ask(defaults, DEV_CHAR, 136, 7, RW), 1, 'any minor of 136');
  assert.equal(ask(defaults, DEV_BLOCK, 1, 3, ACC_READ), 0, 'type must match');
  assert.equal(ask(defaults, DEV_CHAR, 1, 4, ACC_READ), 0);
  assert.equal(ask(defaults, DEV_CHAR, 5, 1, RW), 1);
  assert.equal(ask(defaults, DEV_CHAR, 5, 1, ACC_MKNOD), 0, 'access not granted');
  assert.equal(ask(defaults, DEV_CHAR, 5, 1, ACC_READ | ACC_MKNOD), 0, 'partly granted is not granted');
  assert.equal(ask(defaults, DEV_BLOCK, 8, 0, ACC_READ), 0);
});

test('last match wins: a later deny overrides, a later allow-all ends the program', () => {
  const rules: LinuxDeviceCgroup[] = [...defaults, { allow: false, type: 'c', major: 1, minor: 3, access: 'w' }];
  assert.equal(ask(rules, DEV_CHAR, 1, 3, ACC_READ), 1, 'deny w does not cover r');
  assert.equal(ask(rules, DEV_CHAR, 1, 3, RW), 0, 'deny w covers rw');
  const all: LinuxDeviceCgroup[] = [...rules, { allow: true }, { allow: false, type: 'b', major: 8, access: 'rwm' }];
  assert.equal(ask(all, DEV_CHAR, 1, 3, RW), 1);
  assert.equal(ask(all, DEV_CHAR, 99, 99, ACC_MKNOD), 1);
  assert.equal(ask(all, DEV_BLOCK, 8, 1, ACC_READ), 0);
  assert.equal(ask(all, DEV_BLOCK, 9, 1, ACC_READ), 1);
  // An unconditional rule ends the program: nothing unreachable after it.
  const prog = compileDeviceFilter([{ allow: false, type: 'c', major: 1, access: 'r' }, { allow: true }]);
  assert.equal(prog.length, 6 + 2);
});

test('encoding: 8 bytes per instruction, registers packed in one byte', () => {
  const prog = compileDeviceFilter(defaults);
  const buf = encodeInsns(prog);
  assert.equal(buf.length, prog.length * 8);
  // first instruction: r2 = *(u32 *)(r1 + 0)  → code 0x61, dst 2 src 1
  assert.deepEqual([...buf.subarray(0, 8)], [0x61, 0x12, 0, 0, 0, 0, 0, 0]);
  // last instruction: exit
  assert.equal(buf[buf.length - 8], 0x95);
});

test('bad rules are refused', () => {
  assert.throws(() => compileDeviceFilter([{ allow: true, type: 'z' }]), /rule type "z"/);
  assert.throws(() => compileDeviceFilter([{ allow: true, type: 'c', major: 1.5 }]), /device number 1.5/);
  assert.throws(() => compileDeviceFilter([{ allow: true, access: 'x' }]), /access "x"/);
});
