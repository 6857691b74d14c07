import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, posix, resolve } from 'node:path';
import { DockerfileParser, type Copy, type Instruction, type JSONInstruction } from 'dockerfile-ast';
import { parse as parseYaml } from 'yaml';

const ROOT = resolve(__dirname, '..', '..');
const DOCKERFILE = join(ROOT, 'deploy', 'Dockerfile');

interface Stage {
  name: string;
  instructions: Instruction[];
}

/** The Dockerfile's build stages, each with its instructions in order. */
function stages(): Stage[] {
  const found: Stage[] = [];
  for (const instruction of DockerfileParser.parse(readFileSync(DOCKERFILE, 'utf8')).getInstructions()) {
    if (instruction.getKeyword() === 'FROM') found.push({ name: (instruction as unknown as { getBuildStage(): string }).getBuildStage(), instructions: [] });
    else found.at(-1)?.instructions.push(instruction);
  }
  return found;
}

const args = (instruction: Instruction) => instruction.getArguments().map((argument) => argument.getValue());
const last = (stage: Stage, keyword: string) => stage.instructions.filter((instruction) => instruction.getKeyword() === keyword).at(-1);
const json = (instruction: Instruction | undefined) => (instruction ? (instruction as JSONInstruction).getJSONStrings().map((value) => value.getJSONValue()) : []);
const fromStage = (copy: Instruction) => (copy as Copy).getFlags().find((flag) => flag.getName() === 'from')?.getValue() ?? null;

/** What `docker run` would execute: ENTRYPOINT then CMD (exec form), in the last WORKDIR of the final stage. */
function imageCommand(stage: Stage): { workdir: string; argv: string[]; env: Record<string, string> } {
  const workdir = args(last(stage, 'WORKDIR') as Instruction)[0];
  const entrypoint = json(last(stage, 'ENTRYPOINT'));
  const env: Record<string, string> = {};
  for (const instruction of stage.instructions.filter((each) => each.getKeyword() === 'ENV')) {
    for (const property of (instruction as unknown as { getProperties(): { getName(): string; getValue(): string }[] }).getProperties()) env[property.getName()] = property.getValue();
  }
  return { workdir, argv: [...entrypoint, ...json(last(stage, 'CMD'))], env };
}

/** The HEALTHCHECK's command (exec form). */
function healthCheck(stage: Stage): string[] {
  const content = (last(stage, 'HEALTHCHECK') as Instruction).getArgumentsContent() ?? '';
  return JSON.parse(content.slice(content.indexOf('CMD') + 3).replace(/\\\n/g, ' '));
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
    server.on('error', fail);
  });
}

describe('deploy/Dockerfile', () => {
  const work = mkdtempSync(join(tmpdir(), 'ledger-image-'));
  /** The build stage's /app, and the runtime stage's, as directories here. */
  const buildRoot = join(work, 'build');
  const runtimeRoot = join(work, 'runtime');
  let service: ChildProcess | null = null;

  afterAll(() => {
    service?.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  });

  it('starts the entry point the build writes, and its health check passes', async () => {
    const [build, runtime] = [stages()[0], stages().at(-1) as Stage];
    expect(args(last(build, 'WORKDIR') as Instruction)).toEqual(['/app']);

    // The build stage, as it would run: its COPYs from the context (the repository, less what
    // Dockerfile.dockerignore drops), `npm ci` (here: the installed node_modules), then `npm run build`
    // in a directory of its own, so no other test's dist is touched.
    mkdirSync(buildRoot, { recursive: true });
    for (const copy of build.instructions.filter((instruction) => instruction.getKeyword() === 'COPY')) {
      const [destination, ...sources] = args(copy).reverse();
      for (const source of sources.reverse()) {
        const target = destination.endsWith('/') ? join(buildRoot, destination, source) : join(buildRoot, destination);
        cpSync(join(ROOT, source), target, { recursive: true, filter: (path) => !/[/\\](node_modules|dist)([/\\]|$)/.test(path.slice(ROOT.length)) });
      }
    }
    const runs = build.instructions.filter((instruction) => instruction.getKeyword() === 'RUN').map((instruction) => instruction.getArgumentsContent() ?? '');
    expect(runs.some((run) => /\bnpm ci\b/.test(run))).toBe(true);
    expect(runs.some((run) => /\bnpm run build\b/.test(run))).toBe(true);
    symlinkSync(join(ROOT, 'node_modules'), join(buildRoot, 'node_modules'), 'dir');
    const built = spawnSync('npm', ['run', 'build'], { cwd: buildRoot, encoding: 'utf8', env: { ...process.env, NODE_ENV: 'production' } });
    expect({ status: built.status, output: built.status === 0 ? '' : `${built.stdout}${built.stderr}` }).toEqual({ status: 0, output: '' });

    // The runtime stage: what it copies from the build stage, where WORKDIR puts it.
    const { workdir, argv, env } = imageCommand(runtime);
    for (const copy of runtime.instructions.filter((instruction) => instruction.getKeyword() === 'COPY')) {
      expect(fromStage(copy)).toBe(build.name);
      const [source, destination] = args(copy);
      const target = join(runtimeRoot, posix.relative(workdir, posix.resolve(workdir, destination)), destination.endsWith('/') ? posix.basename(source) : '');
      mkdirSync(dirname(target), { recursive: true });
      const from = join(buildRoot, posix.relative('/app', source));
      if (source.endsWith('node_modules')) symlinkSync(join(ROOT, 'node_modules'), target, 'dir');
      else cpSync(from, target, { recursive: true });
    }

    expect(argv[0]).toBe('node');
    const entry = join(runtimeRoot, posix.relative(workdir, posix.resolve(workdir, argv[1])));
    expect({ entry: argv[1], exists: existsSync(entry) }).toEqual({ entry: argv[1], exists: true });
    // Compose runs other entry points from the same image (the connector): they must exist too.
    const services = Object.entries(parseYaml(readFileSync(join(ROOT, 'deploy', 'docker-compose.yml'), 'utf8')).services as Record<string, { image?: string; command?: string[] }>);
    const image = services.find(([name]) => name === 'ledger')?.[1].image;
    const commands = services.filter(([, service]) => service.image === image && service.command).map(([name, service]) => ({ name, command: service.command as string[] }));
    expect(commands.map(({ name }) => name)).toEqual(['connector']);
    for (const { name, command } of commands) {
      expect({ name, node: command[0], exists: existsSync(join(runtimeRoot, command[1])) }).toEqual({ name, node: 'node', exists: true });
    }

    // Start it as the image would (its ENV, with a port and data directory of our own) and ask the
    // image's own HEALTHCHECK command whether it is ready.
    const port = String(await freePort());
    const containerEnv = { ...env, PATH: process.env.PATH ?? '', PORT: port, LEDGER_DATA_DIR: join(work, 'data'), HOST: '127.0.0.1' };
    let output = '';
    service = spawn(process.execPath, argv.slice(1), { cwd: runtimeRoot, env: containerEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    service.stdout?.on('data', (chunk) => (output += chunk));
    service.stderr?.on('data', (chunk) => (output += chunk));
    const check = healthCheck(runtime);
    expect(check[0]).toBe('node');
    let healthy = false;
    for (let attempt = 0; attempt < 120 && !healthy && service.exitCode === null; attempt++) {
      healthy = spawnSync(process.execPath, check.slice(1), { env: containerEnv }).status === 0;
      if (!healthy) await new Promise((wait) => setTimeout(wait, 500));
    }
    expect({ healthy, output: healthy ? '' : output }).toEqual({ healthy: true, output: '' });
    // The start-up line follows the listen, so it may come just after the first healthy answer.
    const listening = `inventory ledger listening on http://127.0.0.1:${port}`;
    for (let attempt = 0; attempt < 50 && !output.includes(listening); attempt++) await new Promise((wait) => setTimeout(wait, 100));
    expect(output).toContain(listening);
    service.kill('SIGTERM');
    await new Promise((done) => service?.once('exit', done));
    service = null;
  }, 300_000);
});
