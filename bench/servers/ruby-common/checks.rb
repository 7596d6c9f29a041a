# frozen_string_literal: true

# Shared by the Ruby peers (rack-puma, sinatra-puma): the constraints of the
# workload table checked by hand, and the conversions a plain route needs.
# Each field is [name, type, check of the validated variant]. Everything
# lives in BenchChecks, so that no helper leaks into a framework's scope.

module BenchChecks
  extend self

  def len(min, max) = ->(v) { v.length.between?(min, max) }
  def re(rx, min = 0, max = 1 << 30) = ->(v) { v.length.between?(min, max) && rx.match?(v) }
  def range(min, max = 1 << 62) = ->(v) { v.between?(min, max) }
  def one_of(*vals) = ->(v) { vals.include?(v) }
  def strs(max_items, max_len) = ->(v) { v.size <= max_items && v.all? { |s| s.length <= max_len } }
  NAME = re(/\A[a-z0-9-]+\z/, 1, 50)
  WORD = re(/\A[a-z]+\z/, 1, 20)
  EMAIL = re(/\A[^@\s]+@[^@\s]+\.[^@\s]+\z/, 0, 254)
  UUID = re(/\A\h{8}-\h{4}-\h{4}-\h{4}-\h{12}\z/)
  DATE = lambda do |v|
    m = /\A(\d{4})-(\d{2})-(\d{2})\z/.match(v)
    m && m[2].to_i.between?(1, 12) && m[3].to_i.between?(1, 31)
  end

  MEDIUM = [['q', :s, len(1, 100)], ['category', :s, len(1, 50)], ['brand', :s, len(1, 50)],
            ['min_price', :f, range(0, Float::INFINITY)], ['max_price', :f, range(0, Float::INFINITY)], ['in_stock', :b, nil],
            ['sort', :s, one_of('price', 'name', 'rating')], ['order', :s, one_of('asc', 'desc')],
            ['limit', :i, range(1, 100)], ['page', :i, range(1)]].freeze
  FIELDS = {
    'query-few' => [['q', :s, len(1, 100)], ['limit', :i, range(1, 100)], ['page', :i, range(1)]],
    'query-medium' => MEDIUM,
    'query-many' => MEDIUM + [['tags', :a, strs(10, 30)], ['color', :s, len(0, 30)], ['size', :s, one_of('s', 'm', 'l', 'xl')],
                              ['rating', :i, range(0, 5)], ['currency', :s, re(/\A[A-Z]{3}\z/)], ['lang', :s, len(2, 5)],
                              ['offset', :i, range(0)], ['include_reviews', :b, nil], ['seller', :s, len(0, 50)], ['region', :s, len(0, 50)]],
    'urlencoded-simple' => [['name', :s, len(1, 100)], ['email', :s, EMAIL], ['age', :i, range(0, 150)], ['subscribe', :b, nil]],
    'urlencoded-complex' => [['first_name', :s, len(1, 100)], ['last_name', :s, len(1, 100)], ['email', :s, EMAIL],
                             ['age', :i, range(0, 150)], ['street', :s, len(0, 200)], ['city', :s, len(0, 100)],
                             ['zip', :s, re(/\A\d{5}\z/)], ['country', :s, re(/\A[A-Z]{2}\z/)], ['phone', :s, re(/\A\+?[0-9 ]{6,20}\z/)],
                             ['interests', :a, strs(10, 30)], ['quantity', :i, range(1, 99)], ['unit_price', :f, ->(v) { v > 0 }],
                             ['gift', :b, nil], ['comment', :s, len(0, 500)]],
    'path-simple' => [['name', :s, NAME]],
    'path-int' => [['id', :i, range(1, 1_000_000)]],
    'path-uuid' => [['id', :s, UUID]],
    'path-date' => [['date', :s, DATE]],
    'path-deep' => %w[a b c d e].map { |n| [n, :s, WORD] },
    'path-multiple' => [['user_id', :i, range(1)], ['post_id', :i, range(1)], ['slug', :s, NAME]]
  }.freeze

  # Converts (and when validated checks) the fields; nil when one fails.
  def convert(fields, params, validated)
    out = {}
    fields.each do |name, type, check|
      raw = params[name]
      return nil if raw.nil?

      v = case type
          when :a then Array(raw)
          when :s then raw.is_a?(Array) ? raw.first : raw
          when :i then (raw = Array(raw).first).match?(/\A-?\d+\z/) ? raw.to_i : (return nil)
          when :f then Float(Array(raw).first, exception: false) || (return nil)
          when :b
            case Array(raw).first
            when 'true', '1' then true
            when 'false', '0' then false
            else return nil
            end
          end
      return nil if validated && check && !check.call(v)

      out[name] = v
    end
    out
  end

  SKU = /\A[A-Z]{3}-\d{4}\z/
  def order_ok?(o)
    return false unless o.is_a?(Hash)

    id, name, price, tags, items = o.values_at('id', 'name', 'price', 'tags', 'items')
    id.is_a?(Integer) && id >= 1 && name.is_a?(String) && name.length.between?(1, 100) &&
      [true, false].include?(o['active']) && price.is_a?(Numeric) && price.positive? &&
      tags.is_a?(Array) && tags.size <= 20 && tags.all? { |t| t.is_a?(String) && t.length <= 30 } &&
      items.is_a?(Array) && items.size <= 5000 && items.all? do |it|
        it.is_a?(Hash) && it['sku'].is_a?(String) && SKU.match?(it['sku']) &&
          it['qty'].is_a?(Integer) && it['qty'].between?(1, 1000) && it['price'].is_a?(Numeric) && it['price'] >= 0 &&
          (it['note'].nil? || (it['note'].is_a?(String) && it['note'].length <= 200))
      end
  end

  # The answer of an upload ({title, filename, size}), or nil when the form
  # lacks its parts or (validated) breaks the upload schema. file is Rack's
  # multipart hash (:filename, :type, :tempfile).
  def upload_answer(title, file, validated)
    return nil unless title.is_a?(String) && file.is_a?(Hash)

    size = file[:tempfile].size
    return nil if validated && !(title.length.between?(1, 100) && !file[:filename].to_s.empty? &&
                                 file[:type] == 'text/plain' && size.between?(1, 1 << 20))

    { title: title, filename: file[:filename], size: size }
  end
end
