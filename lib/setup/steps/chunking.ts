/**
 * Step 6, chunking: a preset, the current custom values, or custom ones.
 *
 * @module
 */
import {
  checkIdle,
  checkZstd,
  CHUNKING_PRESETS,
  requireValid,
  type SetupFlags,
} from "../answers.ts";
import { configNumber, type Draft, type SetupRun } from "../context.ts";
import type { Choice, Prompter } from "../prompter.ts";

/**
 * Idle threshold and zstd level from the flags (validated against setup's
 * ranges), else config.json's values (kept as they are: the daemon accepts
 * a wider range), else the default preset.
 */
export function chunkingFromFlags(
  flags: SetupFlags,
  config: Record<string, unknown>,
): { idle: number; zstd: number } {
  if (flags.idle !== undefined) requireValid("--idle", checkIdle(flags.idle));
  if (flags.zstd !== undefined) requireValid("--zstd", checkZstd(flags.zstd));
  return {
    idle: flags.idle ?? configNumber(config, "idle_threshold") ?? CHUNKING_PRESETS[0].idle,
    zstd: flags.zstd ?? configNumber(config, "zstd_level") ?? CHUNKING_PRESETS[0].zstd,
  };
}

/** Asks how recordings are chunked (or takes `--idle`/`--zstd`). */
async function askChunking(
  run: SetupRun,
  prompter: Prompter,
): Promise<{ idle: number; zstd: number }> {
  const { flags, config } = run;
  if (flags.idle !== undefined || flags.zstd !== undefined) return chunkingFromFlags(flags, config);
  const currentIdle = configNumber(config, "idle_threshold");
  const currentZstd = configNumber(config, "zstd_level");
  const choices: Choice<string>[] = [];
  const custom = currentIdle !== undefined && currentZstd !== undefined &&
    !CHUNKING_PRESETS.some((preset) => preset.idle === currentIdle && preset.zstd === currentZstd);
  if (custom) {
    choices.push({
      name: `Keep the current settings (${currentIdle} s, zstd ${currentZstd})`,
      value: "keep",
    });
  }
  for (const preset of CHUNKING_PRESETS) {
    choices.push({ name: `${preset.name}: ${preset.description}`, value: preset.name });
  }
  choices.push({ name: "custom: choose the idle time and the zstd level", value: "custom" });
  const current = CHUNKING_PRESETS.find((preset) =>
    preset.idle === currentIdle && preset.zstd === currentZstd
  );
  const picked = await prompter.select("How should recordings be chunked?", choices, current?.name);
  if (picked === "keep") return { idle: currentIdle!, zstd: currentZstd! };
  const preset = CHUNKING_PRESETS.find((entry) => entry.name === picked);
  if (preset) return { idle: preset.idle, zstd: preset.zstd };
  const idle = Number(
    await prompter.input("Seconds without output before a chunk is cut (5–3600):", {
      default: String(currentIdle ?? 30),
      validate: (value) => checkIdle(Number(value)),
    }),
  );
  const zstd = Number(
    await prompter.input("zstd level (1 fastest – 19 smallest):", {
      default: String(currentZstd ?? 3),
      validate: (value) => checkZstd(Number(value)),
    }),
  );
  return { idle, zstd };
}

/** Step 6: unattended, tells the planned values; interactive, asks. */
export async function chunkingStep(run: SetupRun, draft: Draft): Promise<void> {
  if (!run.prompter) {
    run.say(`Idle threshold ${draft.idle} s, zstd level ${draft.zstd}.`);
    return;
  }
  const chunking = await askChunking(run, run.prompter);
  draft.idle = chunking.idle;
  draft.zstd = chunking.zstd;
}
