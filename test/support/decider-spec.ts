// Given/when/then for any microservice's decider, in the shape of Emmett's
// DeciderSpecification: history in, one command, events (or a rejection) out.
import { expect } from "vitest";
import {
  emissionOf,
  fold,
  isRejection,
  type OutgoingCommand,
  type CommandOf,
  type CommandSchemas,
  type DecideContext,
  type Decision,
  type Message,
  type Microservice,
} from "../../core/decider.js";

export interface DeciderSpec<S extends CommandSchemas, State, E extends Message> {
  given(events: readonly E[]): {
    when(command: CommandOf<S>, context?: Partial<DecideContext>): {
      /** The command is accepted and produces exactly these events (and sends no command). */
      then(expected: readonly E[]): void;
      /** The command is accepted, produces these events and sends these commands to other microservices. */
      thenSends(expected: readonly E[], commands: readonly OutgoingCommand[]): void;
      /** The command is refused with this reason code (and some message). */
      thenRejects(reason: string): void;
      /** The command is accepted, and the history plus its events folds to this state. */
      thenState(expected: State): void;
    };
  };
}

/**
 * A spec for `microservice`, deciding with `defaults` unless a `when` says
 * otherwise. Commands go through the command's schema first, as the
 * sequencer does, so a spec cannot test a command the API would refuse.
 */
export const deciderSpec = <S extends CommandSchemas, State, E extends Message>(
  microservice: Microservice<S, State, E>,
  defaults: DecideContext,
): DeciderSpec<S, State, E> => ({
  given: (history) => ({
    when: (command, context) => {
      const decide = (): Decision<E> => {
        const schema = microservice.commands[command.type];
        if (!schema) throw new Error(`${microservice.name} has no command '${command.type}'`);
        const parsed = { type: command.type, data: schema.parse(command.data) } as CommandOf<S>;
        const state = fold(microservice.evolve, microservice.initialState, history);
        return microservice.decide(parsed, state, { ...defaults, ...context });
      };
      const emitted = () => {
        const decision = decide();
        if (isRejection(decision)) throw new Error(`expected events, got rejection ${decision.reason}: ${decision.message}`);
        return emissionOf(decision);
      };
      const accepted = (): readonly E[] => emitted().events;
      return {
        then: (expected) => expect(emitted()).toEqual({ events: expected, commands: [] }),
        thenSends: (expected, commands) => expect(emitted()).toEqual({ events: expected, commands }),
        thenRejects: (reason) => {
          const decision = decide();
          expect(decision).toMatchObject({ rejected: true, reason, message: expect.any(String) });
          if (isRejection(decision)) expect(decision.message).not.toBe("");
        },
        thenState: (expected) =>
          expect(fold(microservice.evolve, microservice.initialState, [...history, ...accepted()])).toEqual(expected),
      };
    },
  }),
});
