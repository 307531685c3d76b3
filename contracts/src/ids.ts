import { z } from 'zod';

// One NATS subject token: no dots, wildcards or whitespace, so ids embed safely in subjects.
export const Token = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_-]+$/, 'use letters, digits, "_" or "-" (1-128 chars)');

export const EntityName = z
  .string()
  .regex(/^[a-z][a-zA-Z0-9]{0,31}$/, 'an entity name is lowerCamelCase letters and digits');

export const Verb = z
  .string()
  .regex(/^[a-z][a-zA-Z0-9]*(\.[a-z][a-zA-Z0-9]*)*$/, 'a verb is dot-separated lowerCamelCase words');

export const Iso = z.iso.datetime({ offset: true });
