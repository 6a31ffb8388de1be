import type { Command } from 'commander';
import * as agent from './agent';
import * as check from './check';
import * as decode from './decode';
import * as demo from './demo';
import * as discover from './discover';
import * as doctor from './doctor';
import * as encode from './encode';
import * as mtu from './mtu';
import * as observe from './observe';
import * as place from './place';
import * as probe from './probe';
import * as replay from './replay';
import * as status from './status';
import * as topology from './topology';
import * as vlans from './vlans';

/** Every subcommand module; order is the order in --help. */
export const COMMANDS: Array<(program: Command) => void> = [agent.register, status.register, status.registerWatch, observe.register, encode.register, decode.register, doctor.register, replay.register, topology.register, place.register, check.register, discover.register, probe.register, mtu.register, vlans.register, demo.register];
