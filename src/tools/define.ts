import type { z } from 'zod';
import type { Service } from '../service.js';

export interface ToolAnnotationsSet {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

export type ConfirmAnswer = 'accept' | 'decline' | 'cancel' | 'unsupported';

/** What a handler gets besides its arguments. No MCP types leak past this. */
export interface ToolContext {
  service: Service;
  signal: AbortSignal;
  /** Reports progress when the client asked for it (a no-op otherwise). */
  progress(progress: number, total: number | undefined, message: string): Promise<void>;
  /** Asks the human (MCP elicitation) to confirm; 'unsupported' when the client cannot ask. */
  confirm(message: string): Promise<ConfirmAnswer>;
}

export interface ToolOutput<O> {
  structured: O;
  /** A short human-readable summary; the JSON follows it in the text content. */
  summary: string;
}

export interface ToolDefinition<I extends z.ZodRawShape = z.ZodRawShape, O extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  inputSchema: I;
  outputSchema: O;
  annotations: ToolAnnotationsSet;
  /** Checks that zod cannot express (exactly one of, overlaps); throws InvalidInputError. Runs before any request. */
  validate?(args: z.infer<z.ZodObject<I>>): void;
  handler(args: z.infer<z.ZodObject<I>>, ctx: ToolContext): Promise<ToolOutput<z.infer<z.ZodObject<O>>>>;
}

export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(tool: ToolDefinition<I, O>): ToolDefinition<I, O> {
  return tool;
}
