<?php

declare(strict_types=1);

namespace Spikard;

use Spikard\Attribute\ArrayOf;
use Spikard\Attribute\Field;

/**
 * JSON Schemas derived from PHP types, once, when a route is registered.
 *
 * A DTO is a class whose constructor promotes its properties:
 *
 *     final class UserDto {
 *         public function __construct(
 *             #[Field(minLength: 1)] public string $name,
 *             public int $age,
 *             public ?string $email = null,
 *             #[ArrayOf('string')] public array $tags = [],
 *         ) {}
 *     }
 *
 * gives {"type":"object","properties":{...},"required":["name","age"]}. int,
 * float, string, bool, array, mixed, nullable and union types, backed enums,
 * DateTimeImmutable (format date-time) and nested DTOs are understood; a
 * property without a default is required. Handlers receive the DTO built
 * from the validated body (Schema::hydrator), never by reflection per
 * request.
 */
final class Schema
{
    /** @var array<class-string, array<string, mixed>> */
    private static array $schemas = [];

    /** @var array<class-string, \Closure> */
    private static array $hydrators = [];

    /**
     * The JSON Schema of a DTO class.
     *
     * @param class-string $class
     * @return array<string, mixed>
     */
    public static function fromClass(string $class): array
    {
        if (isset(self::$schemas[$class])) {
            return self::$schemas[$class];
        }
        $rc = new \ReflectionClass($class);
        if ($rc->isEnum()) {
            return self::$schemas[$class] = self::enumSchema($class);
        }
        $ctor = $rc->getConstructor();
        $props = [];
        $required = [];
        foreach ($ctor?->getParameters() ?? [] as $p) {
            $name = self::fieldName($p);
            $props[$name] = self::forParameter($p);
            if (!$p->isDefaultValueAvailable() && !$p->isVariadic()) {
                $required[] = $name;
            }
        }
        $s = ['type' => 'object', 'properties' => $props === [] ? new \stdClass() : $props];
        if ($required !== []) {
            $s['required'] = $required;
        }
        return self::$schemas[$class] = $s;
    }

    /**
     * The schema of a parameter (a DTO property or a handler argument): its
     * type, its #[Field] keywords, its default.
     *
     * @return array<string, mixed>
     */
    public static function forParameter(\ReflectionParameter $p, bool $dropNull = false): array
    {
        $item = null;
        foreach ($p->getAttributes(ArrayOf::class) as $a) {
            $item = $a->newInstance()->type;
        }
        $t = $p->getType();
        $s = $dropNull && $t instanceof \ReflectionNamedType ? self::forName($t->getName(), $item) : self::forType($t, $item);
        foreach ($p->getAttributes(Field::class) as $a) {
            $s = $a->newInstance()->keywords() + $s;
        }
        if ($p->isDefaultValueAvailable()) {
            $d = $p->getDefaultValue();
            if ($d instanceof \BackedEnum) {
                $d = $d->value;
            }
            if ($d !== null && !\is_object($d)) {
                $s['default'] = $d;
            }
        }
        return $s;
    }

    /** @return array<string, mixed> */
    public static function forType(?\ReflectionType $t, ?string $item = null): array
    {
        if ($t === null) {
            return [];
        }
        if ($t instanceof \ReflectionUnionType) {
            $any = [];
            foreach ($t->getTypes() as $u) {
                $any[] = self::forType($u, $item);
            }
            return ['anyOf' => $any];
        }
        if (!$t instanceof \ReflectionNamedType) {
            return [];
        }
        $s = self::forName($t->getName(), $item);
        if ($t->allowsNull() && $t->getName() !== 'null' && $t->getName() !== 'mixed') {
            if (isset($s['type']) && \is_string($s['type']) && \count($s) === 1) {
                $s = ['type' => [$s['type'], 'null']];
            } else {
                $s = ['anyOf' => [$s, ['type' => 'null']]];
            }
        }
        return $s;
    }

    /** @return array<string, mixed> */
    private static function forName(string $name, ?string $item): array
    {
        return match ($name) {
            'int' => ['type' => 'integer'],
            'float' => ['type' => 'number'],
            'string' => ['type' => 'string'],
            'bool' => ['type' => 'boolean'],
            'true', 'false' => ['type' => 'boolean', 'const' => $name === 'true'],
            'null' => ['type' => 'null'],
            'array', 'iterable' => $item === null ? ['type' => 'array'] : ['type' => 'array', 'items' => self::forName($item, null)],
            'mixed', 'object', 'stdClass' => [],
            default => self::forClassName($name),
        };
    }

    /** @return array<string, mixed> */
    private static function forClassName(string $name): array
    {
        if (is_a($name, \DateTimeInterface::class, true)) {
            return ['type' => 'string', 'format' => 'date-time'];
        }
        if (!class_exists($name) && !enum_exists($name)) {
            throw new SpikardException("Spikard: no JSON Schema for type $name", 0);
        }
        return self::fromClass($name);
    }

    /** @return array<string, mixed> */
    private static function enumSchema(string $class): array
    {
        $rc = new \ReflectionEnum($class);
        if (!$rc->isBacked()) {
            $names = array_map(static fn ($c) => $c->getName(), $rc->getCases());
            return ['type' => 'string', 'enum' => $names];
        }
        $values = array_map(static fn ($c) => $c->getBackingValue(), $rc->getCases());
        return ['type' => (string) $rc->getBackingType() === 'int' ? 'integer' : 'string', 'enum' => $values];
    }

    private static function fieldName(\ReflectionParameter $p): string
    {
        foreach ($p->getAttributes(Field::class) as $a) {
            $alias = $a->newInstance()->alias;
            if ($alias !== null) {
                return $alias;
            }
        }
        return $p->getName();
    }

    /**
     * A function that builds an instance of $class from validated data
     * (a decoded JSON object), prepared once. Nested DTOs, enums, dates and
     * #[ArrayOf] DTO lists are built too; unknown members are dropped.
     *
     * @param class-string $class
     */
    public static function hydrator(string $class): \Closure
    {
        if (isset(self::$hydrators[$class])) {
            return self::$hydrators[$class];
        }
        $rc = new \ReflectionClass($class);
        if ($rc->isEnum()) {
            $backed = (new \ReflectionEnum($class))->isBacked();
            return self::$hydrators[$class] = $backed
                ? static fn ($v) => $class::from($v)
                : static fn ($v) => \constant($class . '::' . $v);
        }
        $fields = [];   // json name => php name
        $convert = [];  // php name => closure
        foreach ($rc->getConstructor()?->getParameters() ?? [] as $p) {
            $fields[self::fieldName($p)] = $p->getName();
            $item = null;
            foreach ($p->getAttributes(ArrayOf::class) as $a) {
                $item = $a->newInstance()->type;
            }
            $c = self::converter($p->getType(), $item);
            if ($c !== null) {
                $convert[$p->getName()] = $c;
            }
        }
        $plain = $convert === [] && array_keys($fields) === array_values($fields);
        $self = $plain
            ? static function ($data) use ($class, $fields) {
                return new $class(...array_intersect_key((array) $data, $fields));
            }
            : static function ($data) use ($class, $fields, $convert) {
                $args = [];
                foreach ((array) $data as $k => $v) {
                    if (isset($fields[$k])) {
                        $n = $fields[$k];
                        $args[$n] = isset($convert[$n]) && $v !== null ? $convert[$n]($v) : $v;
                    }
                }
                return new $class(...$args);
            };
        return self::$hydrators[$class] = $self;
    }

    private static function converter(?\ReflectionType $t, ?string $item): ?\Closure
    {
        if (!$t instanceof \ReflectionNamedType) {
            return null;
        }
        $n = $t->getName();
        if ($n === 'float') {
            return static fn ($v) => (float) $v;
        }
        if ($n === 'array' && $item !== null && (class_exists($item) || enum_exists($item))) {
            $h = self::classConverter($item);
            return static fn (array $v) => array_map($h, $v);
        }
        if ($t->isBuiltin()) {
            return null;
        }
        return self::classConverter($n);
    }

    private static function classConverter(string $n): ?\Closure
    {
        if (is_a($n, \DateTimeInterface::class, true)) {
            $cls = $n === \DateTimeInterface::class ? \DateTimeImmutable::class : $n;
            return static fn ($v) => new $cls($v);
        }
        if (class_exists($n) || enum_exists($n)) {
            return self::hydrator($n);
        }
        return null;
    }

    /**
     * A schema array ready for JSON: empty arrays where JSON Schema wants an
     * object ("properties": [], a schema written as []) become objects.
     *
     * @param array<string, mixed>|\stdClass $s
     */
    public static function normalize(array|\stdClass $s): array|\stdClass
    {
        if ($s === []) {
            return new \stdClass();
        }
        if ($s instanceof \stdClass) {
            return $s;
        }
        foreach (['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'] as $k) {
            if (isset($s[$k]) && \is_array($s[$k])) {
                $m = [];
                foreach ($s[$k] as $name => $sub) {
                    $m[$name] = \is_array($sub) ? self::normalize($sub) : $sub;
                }
                $s[$k] = $m === [] ? new \stdClass() : $m;
            }
        }
        foreach (['items', 'additionalProperties', 'not', 'if', 'then', 'else', 'contains', 'propertyNames'] as $k) {
            if (isset($s[$k]) && \is_array($s[$k])) {
                $s[$k] = self::normalize($s[$k]);
            }
        }
        foreach (['anyOf', 'oneOf', 'allOf', 'prefixItems'] as $k) {
            if (isset($s[$k]) && \is_array($s[$k])) {
                $s[$k] = array_map(static fn ($x) => \is_array($x) ? self::normalize($x) : $x, $s[$k]);
            }
        }
        return $s;
    }
}
